/**
 * One step of the telephone bench: N Twilio-protocol calls from the load generator (its own process)
 * against a running server process, for `seconds` of media. Server CPU is read at the generator's
 * phase changes (connecting and starting the calls, then the media alone); the machine's busy time
 * is read around the media too, so a step says which cores the server, the generator and everything
 * else on the machine used.
 */
import { type BenchServer, cpuBetween, measureLoad, type ServerStats, spawnProc, type LoadResult } from './children.js';
import { machineBusyUs } from './proc-cpu.js';


export interface Trial {
  calls: number;
  /** Share of the frames sent that came back. */
  delivered: number;
  /** Echoed frames more than 40 ms behind their call's 20 ms schedule. */
  late: number;
  maxLateMs: number;
  /** Server CPU over the media phase per echoed frame (µs). */
  cpuUsPerFrame: number;
  /** Server CPU to connect and start one call (µs): outside the per-frame figure. */
  setupUsPerCall: number;
  /** Cores used over the media phase: the server, the load generator, and everything else on the machine. */
  serverCores: number;
  generatorCores: number;
  otherCores: number;
  /** The load generator's own event-loop delay over the media (ms): a stall there makes echoes late whatever the server does. */
  generatorLoopDelayMaxMs: number;
  /** ≥ 99 % echoed and none > 40 ms late. */
  ok: boolean;
}

export interface TimedTrial extends Trial {
  /** Per-frame latencies (µs) from an instrumented server: arrival → handler, handler output → socket write. */
  inbound: number[];
  outbound: number[];
}

export async function trial(server: BenchServer, calls: number, seconds: number): Promise<TimedTrial> {
  // The stats before the media also reset the server's latency samples.
  const idle = await server.stats();
  const generator = spawnProc('load.ts', [String(server.port), String(calls), String(seconds), 'phased']);
  const sample = async () => ({ stats: await server.stats(), machine: machineBusyUs() });
  const { result, before, after, wallS } = await measureLoad<LoadResult, { stats: ServerStats; machine: number }>(generator, sample, true);
  const serverUs = cpuBetween(before.stats, after.stats);
  const delivered = result.received / Math.max(1, result.sent);
  return {
    calls,
    delivered,
    late: result.late,
    maxLateMs: result.maxLateMs,
    cpuUsPerFrame: serverUs / Math.max(1, result.received),
    setupUsPerCall: cpuBetween(idle, before.stats) / calls,
    serverCores: serverUs / 1e6 / wallS,
    generatorCores: result.cpuUs / 1e6 / wallS,
    // The server's forced GC at the second sample falls inside the machine's interval: it counts as "other".
    otherCores: Math.max(0, after.machine - before.machine - serverUs - result.cpuUs) / 1e6 / wallS,
    generatorLoopDelayMaxMs: result.loopDelayMaxMs,
    ok: delivered >= 0.99 && result.late === 0,
    inbound: after.stats.inbound,
    outbound: after.stats.outbound,
  };
}

/** One line for a step, as the bench prints it while it runs. */
export function describe(label: string, t: Trial): string {
  return `  ${label} ${t.calls} calls: ${(t.delivered * 100).toFixed(2)} % back, ${t.late} late (max ${t.maxLateMs.toFixed(0)} ms), ${t.cpuUsPerFrame.toFixed(1)} µs CPU/frame, setup ${t.setupUsPerCall.toFixed(0)} µs/call; cores: server ${t.serverCores.toFixed(2)}, generator ${t.generatorCores.toFixed(2)} (loop ≤ ${t.generatorLoopDelayMaxMs.toFixed(0)} ms late), rest of the machine ${t.otherCores.toFixed(2)}`;
}

/** The trial without its latency samples (for the JSON's raw data). */
export function withoutSamples({ inbound: _in, outbound: _out, ...rest }: TimedTrial): Trial {
  return rest;
}
