/**
 * Telephone capacity and added latency: N Twilio-protocol calls from a load generator process
 * against one server process, callstream (echo, and a 16 kHz PCM echo) and a bare `ws` echo as the
 * baseline, run in the same session. Server CPU per echoed frame comes from the server process only.
 */
import { type BenchServer, cpuBetween, measureLoad, type ServerStats, spawnProc, startServer } from './children.js';
import { type BenchResult, percentile } from './report.js';

const SECONDS = 4;
const LADDER = [1, 50, 100, 200, 300, 400, 500, 600];

interface LoadResult {
  sent: number;
  received: number;
  late: number;
  maxLateMs: number;
}

interface Trial {
  calls: number;
  delivered: number;
  late: number;
  maxLateMs: number;
  cpuUsPerFrame: number;
  /** Server CPU to connect and start one call (µs): outside the per-frame figure. */
  setupUsPerCall: number;
  serverCoreShare: number;
  inbound: number[];
  outbound: number[];
  ok: boolean;
}

async function trial(server: BenchServer, calls: number): Promise<Trial> {
  // Server CPU is read at the load generator's phase changes: connecting (setup), media, hanging up.
  // The stats before the media also reset the latency samples.
  const idle = await server.stats();
  const generator = spawnProc('load.ts', [String(server.port), String(calls), String(SECONDS), 'phased']);
  const { result, before, after, wallS: wall } = await measureLoad<LoadResult, ServerStats>(generator, () => server.stats(), true);
  const cpuUs = cpuBetween(before, after);
  const delivered = result.received / Math.max(1, result.sent);
  return {
    calls,
    delivered,
    late: result.late,
    maxLateMs: result.maxLateMs,
    cpuUsPerFrame: cpuUs / Math.max(1, result.received),
    setupUsPerCall: cpuBetween(idle, before) / calls,
    serverCoreShare: cpuUs / 1e6 / wall,
    inbound: after.inbound,
    outbound: after.outbound,
    ok: delivered >= 0.99 && result.late === 0,
  };
}

/** Runs the ladder until a step fails; returns every trial. */
async function ladder(kind: 'bare' | 'callstream', handler?: string): Promise<Trial[]> {
  const server = await startServer('server.ts', [kind, handler ?? 'echo']);
  const trials: Trial[] = [];
  try {
    await trial(server, 20); // warm up (JIT)
    for (const calls of LADDER) {
      const t = await trial(server, calls);
      trials.push(t);
      process.stdout.write(`  ${kind}${handler ? `/${handler}` : ''} ${calls} calls: ${(t.delivered * 100).toFixed(2)} % back, ${t.late} late (max ${t.maxLateMs.toFixed(0)} ms), ${t.cpuUsPerFrame.toFixed(1)} µs CPU/frame, setup ${t.setupUsPerCall.toFixed(0)} µs/call, server ${(t.serverCoreShare * 100).toFixed(0)} % of a core\n`);
      if (!t.ok) break;
    }
  } finally {
    server.stop();
  }
  return trials;
}

function maxCalls(trials: Trial[]): number {
  // The largest step of the unbroken run of passing steps.
  let best = 0;
  for (const t of trials) {
    if (!t.ok) break;
    best = t.calls;
  }
  return best;
}

function at(trials: Trial[], calls: number): Trial | undefined {
  return trials.find((t) => t.calls === calls);
}

/** Per-frame latencies from an instrumented server (stamps on arrival, handler entry and socket write). */
async function latencies(calls: number[]): Promise<Map<number, Trial>> {
  const server = await startServer('server.ts', ['callstream', 'echo'], { BENCH_INSTRUMENT: '1' });
  const out = new Map<number, Trial>();
  try {
    await trial(server, 20);
    for (const n of calls) out.set(n, await trial(server, n));
  } finally {
    server.stop();
  }
  return out;
}

export async function telephoneScenario(): Promise<BenchResult> {
  const bare = await ladder('bare');
  const echo = await ladder('callstream', 'echo');
  const pcm = await ladder('callstream', 'echo-pcm16');
  const compareAt = 100;
  const bareAt = at(bare, compareAt) ?? bare[0]!;
  const echoAt = at(echo, compareAt) ?? echo[0]!;
  // Every server passes 50 calls: the PCM row is compared there.
  const pcmAt = at(pcm, 50);
  const bareAt50 = at(bare, 50)!;
  const echoMax = maxCalls(echo);
  const eighty = Math.max(1, Math.round((echoMax * 0.8) / 10) * 10);
  const timed = await latencies([...new Set([1, compareAt, eighty])]);
  const one = timed.get(1)!;
  const atCompare = timed.get(compareAt)!;
  const eightyPercent = timed.get(eighty)!;
  const us = (list: number[], p: number) => percentile(list, p);

  return {
    title: `telephone capacity: calls at 50 frames/s each, ≥ 99 % echoed and none > 40 ms late (${SECONDS} s per step)`,
    figures: {
      'max calls, callstream echo (μ-law, no transcoding)': echoMax,
      'max calls, callstream 16 kHz PCM echo (decode + resample)': maxCalls(pcm),
      [`server CPU per echoed frame at ${compareAt} calls, echo (µs)`]: echoAt.cpuUsPerFrame,
      'server CPU per echoed frame at 50 calls, 16 kHz PCM echo (µs)': pcmAt?.cpuUsPerFrame ?? NaN,
      [`server CPU to connect and start one call, at ${compareAt} calls, echo (µs)`]: echoAt.setupUsPerCall,
      'arrival → handler p50 / p99 at 1 call (µs)': `${us(one.inbound, 50).toFixed(1)} / ${us(one.inbound, 99).toFixed(1)}`,
      'handler output → socket write p50 / p99 at 1 call (µs)': `${us(one.outbound, 50).toFixed(1)} / ${us(one.outbound, 99).toFixed(1)}`,
      [`arrival → handler p50 / p99 at ${compareAt} calls (µs)`]: `${us(atCompare.inbound, 50).toFixed(1)} / ${us(atCompare.inbound, 99).toFixed(1)}`,
      [`handler output → socket write p50 / p99 at ${compareAt} calls (µs)`]: `${us(atCompare.outbound, 50).toFixed(1)} / ${us(atCompare.outbound, 99).toFixed(1)}`,
      [`arrival → handler p99 at ${eighty} calls (80 % of max) (µs)`]: us(eightyPercent.inbound, 99),
      [`handler output → socket write p99 at ${eighty} calls (µs)`]: us(eightyPercent.outbound, 99),
    },
    baseline: {
      'max calls, bare ws echo': maxCalls(bare),
      [`server CPU per echoed frame at ${compareAt} calls, bare (µs)`]: bareAt.cpuUsPerFrame,
      'server CPU per echoed frame at 50 calls, bare (µs)': bareAt50.cpuUsPerFrame,
      [`server CPU to connect and start one call, at ${compareAt} calls, bare (µs)`]: bareAt.setupUsPerCall,
    },
    ratios: {
      'CPU per frame, bare / callstream echo': bareAt.cpuUsPerFrame / echoAt.cpuUsPerFrame,
      'CPU per frame at 50 calls, bare / callstream 16 kHz PCM echo': pcmAt ? bareAt50.cpuUsPerFrame / pcmAt.cpuUsPerFrame : NaN,
      'max calls, callstream / bare': echoMax / Math.max(1, maxCalls(bare)),
    },
    goals: {
      'CPU ratio bare / callstream ≥ 0.8': bareAt.cpuUsPerFrame / echoAt.cpuUsPerFrame >= 0.8,
      'added latency p99 < 1 ms (both directions, 1 call, 100 calls, 80 % of max)': [one, atCompare, eightyPercent].every((t) => us(t.inbound, 99) < 1000 && us(t.outbound, 99) < 1000),
    },
    notes: [
      'load generator and server are separate processes sharing the 2 cores: the generator\'s own CPU limits the top of the ladder for both servers',
      'CPU is measured on servers without the latency stamps; latencies come from a separate, instrumented server',
      'CPU per frame counts the media phase only (all calls connected and started, until the last echo); connecting and starting calls is the setup figure, hanging up is in neither',
      'callstream echo keeps Twilio\'s pacing (absolute clock, a lead at the far end, a mark every 200 ms); the bare echo answers each message at once and sends no marks',
    ],
  };
}
