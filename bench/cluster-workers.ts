/**
 * Capacity of `callstream serve --workers 2` against one process (`--workers 1`), the telephone
 * ladder's way: calls held with ≥ 99 % echoed and none > 40 ms late, same load generator; steps of
 * 100-200 calls, then one halfway back from the first that fails. The workers share the primary's
 * in-memory hub over IPC (no Redis). CPU is read from /proc for the server (the primary and its
 * workers) and for the whole machine, and reported by the load generator for itself: all share the
 * 2 cores, so each step says who used what.
 */
import os from 'node:os';
import { measureLoad, spawnProc, type LoadResult } from './children.js';
import { machineBusyUs } from './proc-cpu.js';
import { type ServeProcess, startServe } from './serve-process.js';

const SECONDS = 4;
/** Coarse steps up to where one process or the load generator gives out; then one step halfway back. */
const LADDER = [100, 200, 300, 400, 600, 800, 1000, 1200];
const RESOLUTION = 50;

export interface WorkerStep {
  calls: number;
  delivered: number;
  late: number;
  maxLateMs: number;
  /** Cores used over the media phase: the server's processes together, the load generator, and everything else on the machine. */
  serverCores: number;
  generatorCores: number;
  otherCores: number;
  /** The load generator's own event-loop delay over the media (ms): a stall there makes every echo late. */
  generatorLoopDelayMaxMs: number;
  ok: boolean;
}

export interface WorkerLadder {
  workers: number;
  steps: WorkerStep[];
  /** The largest step of the unbroken run of passing steps (0: none passed). */
  maxCalls: number;
  /** The machine's 1-minute load average when the ladder began (others' processes show here). */
  loadAverage: number;
}


async function step(serve: ServeProcess, calls: number): Promise<WorkerStep> {
  const generator = spawnProc('load.ts', [String(serve.port), String(calls), String(SECONDS), 'phased']);
  const sample = async () => ({ server: serve.cpuUs(), machine: machineBusyUs() });
  const { result, before, after, wallS } = await measureLoad<LoadResult, { server: number; machine: number }>(generator, sample, true);
  const delivered = result.received / Math.max(1, result.sent);
  const serverUs = after.server - before.server;
  return {
    calls,
    delivered,
    late: result.late,
    maxLateMs: result.maxLateMs,
    serverCores: serverUs / 1e6 / wallS,
    generatorCores: result.cpuUs / 1e6 / wallS,
    otherCores: Math.max(0, after.machine - before.machine - serverUs - result.cpuUs) / 1e6 / wallS,
    generatorLoopDelayMaxMs: result.loopDelayMaxMs,
    ok: delivered >= 0.99 && result.late === 0,
  };
}

async function ladder(workers: number): Promise<WorkerLadder> {
  const loadAverage = os.loadavg()[0]!;
  const serve = await startServe(workers);
  const steps: WorkerStep[] = [];
  const run = async (calls: number) => {
    const s = await step(serve, calls);
    steps.push(s);
    process.stdout.write(`  serve --workers ${workers} ${calls} calls: ${(s.delivered * 100).toFixed(2)} % back, ${s.late} late (max ${s.maxLateMs.toFixed(0)} ms); cores used: server ${s.serverCores.toFixed(2)}, load generator ${s.generatorCores.toFixed(2)}, the rest of the machine ${s.otherCores.toFixed(2)}; generator's event loop up to ${s.generatorLoopDelayMaxMs.toFixed(0)} ms late\n`);
    return s.ok;
  };
  let maxCalls = 0;
  try {
    await step(serve, 20); // warm up (JIT), every worker
    for (const calls of LADDER) {
      if (!(await run(calls))) {
        // Halfway between the last step passed and this one, once.
        const between = Math.round((maxCalls + calls) / 2 / RESOLUTION) * RESOLUTION;
        if (between > maxCalls && between < calls && (await run(between))) maxCalls = between;
        break;
      }
      maxCalls = calls;
    }
  } finally {
    await serve.stop();
  }
  return { workers, steps, maxCalls, loadAverage };
}

/** `runs` rounds of the ladder against --workers 1 and then --workers 2. */
export async function workerRuns(runs: number): Promise<WorkerLadder[]> {
  const out: WorkerLadder[] = [];
  for (let round = 0; round < runs; round++) {
    for (const workers of [1, 2]) {
      const l = await ladder(workers);
      process.stdout.write(`  serve --workers ${workers}: ${l.maxCalls} calls held (load average ${l.loadAverage.toFixed(2)} when it began)\n`);
      out.push(l);
    }
  }
  return out;
}
