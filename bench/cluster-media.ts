/**
 * Server CPU per echoed frame, single mode against cluster mode: the same echo server process, with
 * and without the `cluster` option on Redis, under the telephone load generator (calls without a
 * webhook: the media phase is what is measured). Redis's own counters over the media phase show
 * whether anything touches it per frame.
 */
import { BenchRedis, type RedisSample } from './bench-redis.js';
import { type BenchServer, cpuBetween, measureLoad, type ServerStats, spawnProc, startServer, type LoadResult } from './children.js';
import type { Mode } from './cluster-setup.js';

const SECONDS = 4;

export interface MediaRun {
  mode: Mode;
  calls: number;
  delivered: number;
  late: number;
  cpuUsPerFrame: number;
  /** Redis over the media phase (cluster mode): scripts run (round trips) and commands (inside scripts too). */
  redisScripts?: number;
  redisCommands?: number;
  /** Echoed frames over the media phase. */
  frames: number;
  wallS: number;
}


interface Sample {
  stats: ServerStats;
  redis?: RedisSample;
}

async function trial(mode: Mode, server: BenchServer, calls: number, redis: BenchRedis | undefined): Promise<MediaRun> {
  const sample = async (): Promise<Sample> => ({ stats: await server.stats(), ...(redis ? { redis: await redis.sample() } : {}) });
  const generator = spawnProc('load.ts', [String(server.port), String(calls), String(SECONDS), 'phased']);
  const { result, before, after, wallS } = await measureLoad<LoadResult, Sample>(generator, sample, true);
  const redisUsed = before.redis && after.redis && BenchRedis.between(before.redis, after.redis);
  return {
    mode,
    calls,
    delivered: result.received / Math.max(1, result.sent),
    late: result.late,
    cpuUsPerFrame: cpuBetween(before.stats, after.stats) / Math.max(1, result.received),
    frames: result.received,
    wallS,
    ...(redisUsed ? { redisScripts: redisUsed.scripts, redisCommands: redisUsed.commands } : {}),
  };
}

/** `runs` rounds of one single-mode and one cluster-mode trial at `calls` calls each, after one warm-up of each. */
export async function mediaRuns(runs: number, calls: number): Promise<MediaRun[]> {
  const redis = await BenchRedis.start();
  const env = { TWILIO_AUTH_TOKEN: '', TWILIO_ACCOUNT_SID: '', PUBLIC_URL: '', BENCH_REDIS: '' };
  const servers: Partial<Record<Mode, BenchServer>> = {};
  try {
    servers.single = await startServer('server.ts', ['callstream', 'echo'], env);
    servers.cluster = await startServer('server.ts', ['callstream', 'echo'], { ...env, BENCH_REDIS: redis.url, BENCH_PREFIX: `bench-media-${process.pid}:`, BENCH_INSTANCE_ID: 'bench-media' });
    // Warm up at the measured load (JIT, buffers), then take the modes in turn, the order swapped each
    // round, so neither always runs first on a machine whose load drifts.
    for (const mode of ['single', 'cluster'] as const) await trial(mode, servers[mode]!, calls, undefined);
    const out: MediaRun[] = [];
    for (let round = 0; round < runs; round++) {
      const order = round % 2 === 0 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const);
      for (const mode of order) {
        const run = await trial(mode, servers[mode]!, calls, mode === 'cluster' ? redis : undefined);
        const redisNote = run.redisScripts === undefined ? '' : `; Redis over the media phase (${run.wallS.toFixed(1)} s, ${run.frames} frames): ${run.redisScripts} scripts, ${run.redisCommands} commands`;
        process.stdout.write(`  media ${mode.padEnd(7)} ${calls} calls: ${(run.delivered * 100).toFixed(2)} % back, ${run.late} late, ${run.cpuUsPerFrame.toFixed(1)} µs server CPU/frame${redisNote}\n`);
        out.push(run);
      }
    }
    return out;
  } finally {
    servers.single?.stop();
    servers.cluster?.stop();
    await redis.stop();
  }
}
