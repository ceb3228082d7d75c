/**
 * Telephone capacity and added latency: N Twilio-protocol calls from a load generator process
 * against one server process, callstream (echo, and a 16 kHz PCM echo) and a bare `ws` echo as the
 * baseline, run in the same session. Server CPU per echoed frame comes from the server process only.
 */
import { type BenchServer, message, spawnProc, startServer } from './children.js';
import { type BenchResult, percentile } from './report.js';

const SECONDS = 4;
const LADDER = [1, 50, 100, 200, 300, 400, 500, 600];

interface LoadResult {
  sent: number;
  received: number;
  late: number;
  maxLateMs: number;
}

async function load(port: number, calls: number): Promise<LoadResult> {
  return message<LoadResult>(spawnProc('load.ts', [String(port), String(calls), String(SECONDS)]), 'result');
}

interface Trial {
  calls: number;
  delivered: number;
  late: number;
  maxLateMs: number;
  cpuUsPerFrame: number;
  serverCoreShare: number;
  inbound: number[];
  outbound: number[];
  ok: boolean;
}

async function trial(server: BenchServer, calls: number): Promise<Trial> {
  await server.stats(); // reset latency samples
  const before = await server.stats();
  const started = performance.now();
  const result = await load(server.port, calls);
  const wall = (performance.now() - started) / 1000;
  const after = await server.stats();
  const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  const delivered = result.received / Math.max(1, result.sent);
  return {
    calls,
    delivered,
    late: result.late,
    maxLateMs: result.maxLateMs,
    cpuUsPerFrame: cpuUs / Math.max(1, result.received),
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
      process.stdout.write(`  ${kind}${handler ? `/${handler}` : ''} ${calls} calls: ${(t.delivered * 100).toFixed(2)} % back, ${t.late} late (max ${t.maxLateMs.toFixed(0)} ms), ${t.cpuUsPerFrame.toFixed(1)} µs CPU/frame, server ${(t.serverCoreShare * 100).toFixed(0)} % of a core\n`);
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

export async function telephoneScenario(): Promise<BenchResult> {
  const bare = await ladder('bare');
  const echo = await ladder('callstream', 'echo');
  const pcm = await ladder('callstream', 'echo-pcm16');
  const compareAt = 100;
  const bareAt = at(bare, compareAt) ?? bare[0]!;
  const echoAt = at(echo, compareAt) ?? echo[0]!;
  const pcmAt = at(pcm, compareAt) ?? pcm[0];
  const echoMax = maxCalls(echo);
  const eightyPercent = echo.find((t) => t.calls >= echoMax * 0.8) ?? echoAt;
  const us = (list: number[], p: number) => percentile(list, p);

  return {
    title: `telephone capacity: calls at 50 frames/s each, ≥ 99 % echoed and none > 40 ms late (${SECONDS} s per step)`,
    figures: {
      'max calls, callstream echo (μ-law, no transcoding)': echoMax,
      'max calls, callstream 16 kHz PCM echo (decode + resample)': maxCalls(pcm),
      [`server CPU per echoed frame at ${compareAt} calls, echo (µs)`]: echoAt.cpuUsPerFrame,
      [`server CPU per echoed frame at ${compareAt} calls, 16 kHz PCM echo (µs)`]: pcmAt?.cpuUsPerFrame ?? NaN,
      'arrival → handler p50 / p99 at 1 call (µs)': `${us(at(echo, 1)!.inbound, 50).toFixed(1)} / ${us(at(echo, 1)!.inbound, 99).toFixed(1)}`,
      'handler output → socket write p50 / p99 at 1 call (µs)': `${us(at(echo, 1)!.outbound, 50).toFixed(1)} / ${us(at(echo, 1)!.outbound, 99).toFixed(1)}`,
      [`arrival → handler p50 at ${compareAt} calls (µs)`]: us(echoAt.inbound, 50),
      [`arrival → handler p99 at ${compareAt} calls (µs)`]: us(echoAt.inbound, 99),
      [`handler output → socket write p50 at ${compareAt} calls (µs)`]: us(echoAt.outbound, 50),
      [`handler output → socket write p99 at ${compareAt} calls (µs)`]: us(echoAt.outbound, 99),
      [`arrival → handler p99 at ${eightyPercent.calls} calls (80 % of max) (µs)`]: us(eightyPercent.inbound, 99),
      [`handler output → socket write p99 at ${eightyPercent.calls} calls (µs)`]: us(eightyPercent.outbound, 99),
    },
    baseline: {
      'max calls, bare ws echo': maxCalls(bare),
      [`server CPU per echoed frame at ${compareAt} calls, bare (µs)`]: bareAt.cpuUsPerFrame,
    },
    ratios: {
      'CPU per frame, bare / callstream echo': bareAt.cpuUsPerFrame / echoAt.cpuUsPerFrame,
      'CPU per frame, bare / callstream 16 kHz PCM echo': pcmAt ? bareAt.cpuUsPerFrame / pcmAt.cpuUsPerFrame : NaN,
      'max calls, callstream / bare': echoMax / Math.max(1, maxCalls(bare)),
    },
    goals: {
      'CPU ratio bare / callstream ≥ 0.8': bareAt.cpuUsPerFrame / echoAt.cpuUsPerFrame >= 0.8,
      'added latency p99 < 1 ms (both directions, 80 % of max)': us(eightyPercent.inbound, 99) < 1000 && us(eightyPercent.outbound, 99) < 1000,
    },
    notes: [
      'load generator and server are separate processes sharing the 2 cores: the generator\'s own CPU limits the top of the ladder for both servers',
      'callstream echo keeps Twilio\'s pacing (absolute clock, a lead at the far end, a mark every 100 ms); the bare echo answers each message at once and sends no marks',
    ],
  };
}
