/**
 * Load generator in its own process: N Twilio-protocol calls on real WebSockets, 50 media messages a
 * second each (phases spread over the 20 ms tick), for `seconds`. Reports frames sent and echoed,
 * and echoed frames arriving more than 40 ms behind their call's 20 ms schedule.
 *   args: port calls seconds [phased] [roomSize]
 * roomSize: calls carry a `room` custom parameter, `roomSize` calls per room (for the conference demo).
 * phased: after connecting, reports { type: 'connected' } and waits for { type: 'go' }; after the
 * media (and the last echoes) it reports the result and waits for { type: 'close' } before hanging up,
 * so the parent can measure the server's CPU over the media alone (setup and teardown apart).
 * The result also says the generator's own CPU over the media (cpuUs) and how late its own event loop
 * ran (loopDelayMaxMs, loopDelayP99Ms), to tell which side gives out: a stall here delays every echo.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';

const [portArg, callsArg, secondsArg, mode, roomSizeArg] = process.argv.slice(2);
const roomSize = Number(roomSizeArg ?? 0);
const phased = mode === 'phased';

/** Reports `type`, then (phased) waits for the parent's `next`. */
async function step(report: Record<string, unknown> & { type: string }, next: string): Promise<void> {
  process.send!(report);
  if (!phased) return;
  await new Promise<void>((resolve) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== next) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}
const port = Number(portArg);
const calls = Number(callsArg);
const seconds = Number(secondsArg);
const PHASES = 10;

interface Call {
  ws: WebSocket;
  sent: number;
  received: number;
  firstAt: number;
  late: number;
  maxLateMs: number;
}

const payload = Buffer.alloc(160, 0x55).toString('base64');

async function open(index: number): Promise<Call> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/telephone/handler`, { perMessageDeflate: false });
  const call: Call = { ws, sent: 0, received: 0, firstAt: 0, late: 0, maxLateMs: 0 };
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const streamSid = `MZ${String(index).padStart(32, '0')}`;
  ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  ws.send(JSON.stringify({
    event: 'start', sequenceNumber: '1', streamSid,
    start: { accountSid: 'AC0', streamSid, callSid: `CA${index}`, tracks: ['inbound'], customParameters: roomSize > 0 ? { room: `bench-${Math.floor(index / roomSize)}` } : {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  }));
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith('{"event":"media"')) return;
    const now = performance.now();
    const frames = Math.max(1, Math.round((text.length - 80) / 216));
    if (call.received === 0) call.firstAt = now;
    const expected = call.firstAt + call.received * 20;
    const lateMs = now - expected - 20 * (frames - 1);
    if (lateMs > 40) call.late++;
    if (lateMs > call.maxLateMs) call.maxLateMs = lateMs;
    call.received += frames;
  });
  return call;
}

const all: Call[] = [];
for (let i = 0; i < calls; i += 50) all.push(...(await Promise.all(Array.from({ length: Math.min(50, calls - i) }, (_, k) => open(i + k)))));
await new Promise((resolve) => setTimeout(resolve, 300));
await step({ type: 'connected' }, 'go');
// Counted from here: a room sends to its callers from the moment they join, before any media.
for (const call of all) Object.assign(call, { received: 0, firstAt: 0, late: 0, maxLateMs: 0 });
const cpuAtGo = process.cpuUsage();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

const start = performance.now() + 50;
const ticks = Math.round((seconds * 1000) / 20);
await new Promise<void>((resolve) => {
  let done = 0;
  for (let phase = 0; phase < PHASES; phase++) {
    const group = all.filter((_, i) => i % PHASES === phase);
    let tick = 0;
    const fire = () => {
      for (const call of group) {
        if (call.ws.readyState !== WebSocket.OPEN) continue;
        call.ws.send(`{"event":"media","sequenceNumber":"${call.sent + 2}","streamSid":"MZ","media":{"track":"inbound","chunk":"${call.sent + 1}","timestamp":"${call.sent * 20}","payload":"${payload}"}}`);
        call.sent++;
      }
      tick++;
      if (tick >= ticks) {
        if (++done === PHASES) resolve();
        return;
      }
      setTimeout(fire, Math.max(0, start + tick * 20 + (phase * 20) / PHASES - performance.now()));
    };
    setTimeout(fire, Math.max(0, start + (phase * 20) / PHASES - performance.now()));
  }
});
await new Promise((resolve) => setTimeout(resolve, 400)); // let the last echoes arrive
const sent = all.reduce((n, c) => n + c.sent, 0);
const received = all.reduce((n, c) => n + c.received, 0);
const late = all.reduce((n, c) => n + c.late, 0);
const maxLateMs = all.reduce((m, c) => Math.max(m, c.maxLateMs), 0);
const cpu = process.cpuUsage(cpuAtGo);
loopDelay.disable();
const loopDelayMaxMs = loopDelay.max / 1e6;
const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
await step({ type: 'result', sent, received, late, maxLateMs, cpuUs: cpu.user + cpu.system, loopDelayMaxMs, loopDelayP99Ms }, 'close');
await Promise.all(all.map((call) => new Promise<void>((resolve) => {
  if (call.ws.readyState === WebSocket.CLOSED) return resolve();
  call.ws.once('close', () => resolve());
  call.ws.terminate();
})));
process.send!({ type: 'closed' });
process.disconnect();
