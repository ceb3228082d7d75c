/**
 * A benchmark server in its own process, so its CPU can be measured apart from the load generator.
 *   kind=callstream handler=<demo name> | kind=bare   (a bare ws echo: parse JSON, decode base64, echo)
 * BENCH_ROOM_RATE: the rate rooms mix at (the conference demo), with room for every call.
 * callstream in cluster mode: BENCH_REDIS (a Redis URL), BENCH_INSTANCE_ID and BENCH_PREFIX give the
 * Stream's `cluster` option; BENCH_LIMIT its concurrency limit. PUBLIC_URL and TWILIO_AUTH_TOKEN are
 * read by the Stream itself, as in any deployment.
 * Reports over IPC: { type: 'ready', port }, then answers { type: 'stats' } with CPU, memory and
 * per-frame latencies (arrival → handler, handler output → socket write, µs).
 */
import Koa from 'koa';
import WebSocket, { WebSocketServer } from 'ws';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AudioFrame, SessionContext, StreamHandler, StreamOptions } from '../../src/index.js';

// The compiled build (dist/, what `npm start` and the bin run; `npm run bench` builds it first);
// BENCH_SOURCE=1 runs the TypeScript sources through tsx instead (which adds its own helpers).
const root = process.env.BENCH_SOURCE === '1' ? '../../' : '../../dist/';
const { silentLogger } = (await import(`${root}src/logger.js`)) as typeof import('../../src/logger.js');
const { listen } = (await import(`${root}src/server.js`)) as typeof import('../../src/server.js');
const { Stream } = (await import(`${root}src/stream.js`)) as typeof import('../../src/stream.js');
const { demoHandler } = (await import(`${root}handlers/index.js`)) as typeof import('../../handlers/index.js');
const { OPUS_SPEECH_SETTINGS } = (await import(`${root}src/audio/opus.js`)) as typeof import('../../src/audio/opus.js');

// BENCH_OPUS_COMPLEXITY codes WebRTC Opus at another complexity than the default (to compare with it).
if (process.env.BENCH_OPUS_COMPLEXITY) Object.assign(OPUS_SPEECH_SETTINGS, { complexity: Number(process.env.BENCH_OPUS_COMPLEXITY) });

const [kind = 'callstream', handlerName = 'echo'] = process.argv.slice(2);
const inbound: number[] = [];
const outbound: number[] = [];
let arrivedAt = 0;
let sendStartedAt = 0;

function record(list: number[], us: number): void {
  if (list.length < 200_000) list.push(us);
}

/** Stamps message arrival and socket writes (ws runs these synchronously around the echo path). */
function instrument(): void {
  const emit = WebSocket.prototype.emit;
  WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
    if (event === 'message') arrivedAt = performance.now();
    return emit.call(this, event, ...args);
  } as typeof emit;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, ...args: Parameters<typeof send>) {
    if (sendStartedAt) {
      record(outbound, (performance.now() - sendStartedAt) * 1000);
      sendStartedAt = 0;
    }
    return send.apply(this, args);
  } as typeof send;
}

const timedContexts = new WeakMap<SessionContext, SessionContext>();

/** The session's context with send() stamped (made once per session). */
function timedContext(ctx: SessionContext): SessionContext {
  let timed = timedContexts.get(ctx);
  if (!timed) {
    const send = ctx.send;
    timed = Object.assign(Object.create(ctx) as SessionContext, {
      send(item: Parameters<SessionContext['send']>[0]) {
        sendStartedAt = performance.now();
        send(item);
      },
    });
    timedContexts.set(ctx, timed);
  }
  return timed;
}

/** Wraps a handler's receive() to time arrival → handler and handler output → write. */
function timed(handler: StreamHandler): StreamHandler {
  const receive = handler.receive!.bind(handler);
  const wrapped: StreamHandler = Object.create(handler) as StreamHandler;
  return Object.assign(wrapped, {
    copy: () => timed(handler.copy ? handler.copy() : handler),
    receive(frame: AudioFrame, ctx: SessionContext) {
      if (arrivedAt) record(inbound, (performance.now() - arrivedAt) * 1000);
      return receive(frame, timedContext(ctx));
    },
  });
}

let stream: InstanceType<typeof Stream> | undefined;

/** Latency stamps cost CPU on every message: only the latency runs turn them on (BENCH_INSTRUMENT=1). */
const INSTRUMENTED = process.env.BENCH_INSTRUMENT === '1';

async function startCallstream(): Promise<number> {
  if (INSTRUMENTED) instrument();
  const demo = demoHandler(handlerName);
  const handler = demo.handler as StreamHandler;
  stream = new Stream(handler.receive && INSTRUMENTED ? timed(handler) : handler, { logger: silentLogger(), rateLimit: false, ...demo.options, ...(process.env.BENCH_MARK_EVERY ? { telephone: { markEveryMs: Number(process.env.BENCH_MARK_EVERY) } } : {}), webrtc: { codec: process.env.BENCH_CODEC === 'pcmu' ? 'pcmu' : 'opus' }, ...clusterOptions() });
  await stream.ready();
  const app = new Koa();
  stream.mount(app);
  const running = await listen(app, '127.0.0.1', 0);
  return running.port;
}

/** The cluster option and limit asked for through the environment (none: one instance, in memory). */
function clusterOptions(): Pick<StreamOptions, 'cluster' | 'concurrencyLimit' | 'rooms'> {
  const { BENCH_REDIS: redis, BENCH_INSTANCE_ID: instanceId, BENCH_PREFIX: prefix, BENCH_LIMIT: limit, BENCH_ROOM_RATE: roomRate } = process.env;
  return {
    ...(redis ? { cluster: { redis, instanceId, prefix } } : {}),
    ...(limit ? { concurrencyLimit: Number(limit) } : {}),
    ...(roomRate ? { rooms: { sampleRate: Number(roomRate), maxRooms: 1000 } } : {}),
  };
}

async function startBare(): Promise<number> {
  const server = createServer();
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    let streamSid = '';
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { event: string; streamSid?: string; media?: { payload: string } };
      if (message.event === 'start') streamSid = message.streamSid ?? '';
      else if (message.event === 'media') {
        const bytes = Buffer.from(message.media!.payload, 'base64');
        ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: bytes.toString('base64') } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const port = kind === 'bare' ? await startBare() : await startCallstream();
process.send!({ type: 'ready', port });
/** CPU seconds of this process's ffmpeg children (video codecs), from /proc. */
function childrenCpuSeconds(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    // CPU is read on both sides of the forced GC (taken for the memory figures), so that GC is
    // counted in no measured interval.
    const cpu = process.cpuUsage();
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    process.send!({
      type: 'stats',
      cpu,
      cpuAfterGc: process.cpuUsage(),
      childrenCpu: childrenCpuSeconds(),
      memory: process.memoryUsage(),
      resources: process.getActiveResourcesInfo().length,
      sessions: stream?.directory.size ?? 0,
      inbound: inbound.splice(0),
      outbound: outbound.splice(0),
    });
  }
});
process.on('disconnect', () => process.exit(0));
