/**
 * Setup latency and CPU per phone call, single mode against cluster mode. Single: one instance takes
 * the signed webhook and the media stream. Cluster: two instances on one Redis, the webhook on one and
 * the stream on the other (announce, atomic take and claims all go through Redis). Calls come from
 * one client process (bench/procs/setup-calls.ts), one at a time and then several at a time.
 */
import type { ChildProcess } from 'node:child_process';
import { BenchRedis, type RedisSample } from './bench-redis.js';
import { type BenchServer, cpuBetween, message, spawnProc, startServer } from './children.js';
import type { SetupResult } from './procs/setup-calls.js';
import { percentile } from './report.js';

const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const PUBLIC_URL = 'https://voice.bench.example';
/** A limit that is never reached, so the count behind it is checked on every call as in production. */
const LIMIT = '10000';

export type Mode = 'single' | 'cluster';

/** One run of one mode: its batches of calls pooled. */
export interface SetupRun {
  mode: Mode;
  concurrency: number;
  calls: number;
  failures: string[];
  /** ms: webhook → TwiML; upgrade + start → first echo; both, per call. */
  webhook: { p50: number; p99: number };
  stream: { p50: number; p99: number };
  upgrade: { p50: number; p99: number };
  total: { p50: number; p99: number };
  /** Server CPU (every instance involved) per call, from the first request to the first echo (µs). */
  serverUsPerCall: number;
  /** Redis per call (cluster mode only). */
  redisUsPerCall?: number;
  redisCommandsPerCall?: number;
  /** Scripts per call: each is one round trip to Redis. */
  redisScriptsPerCall?: number;
}

/** The servers of one mode and the ports the client uses. */
interface Deployment {
  mode: Mode;
  servers: BenchServer[];
  webhookPort: number;
  streamPort: number;
  redis?: BenchRedis;
}

function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: '', PUBLIC_URL, BENCH_LIMIT: LIMIT, BENCH_REDIS: '', ...extra };
}

async function deploy(mode: Mode, redis: BenchRedis | undefined): Promise<Deployment> {
  if (mode === 'single') {
    const server = await startServer('server.ts', ['callstream', 'echo'], serverEnv());
    return { mode, servers: [server], webhookPort: server.port, streamPort: server.port };
  }
  const prefix = `bench-${process.pid}-${Date.now()}:`;
  const servers: BenchServer[] = [];
  for (const id of ['a', 'b']) servers.push(await startServer('server.ts', ['callstream', 'echo'], serverEnv({ BENCH_REDIS: redis!.url, BENCH_PREFIX: prefix, BENCH_INSTANCE_ID: `bench-${id}` })));
  return { mode, servers, webhookPort: servers[0]!.port, streamPort: servers[1]!.port, redis };
}

const quantiles = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });

/** One batch of calls as measured: the client's timings, the servers' CPU and Redis's counters. */
interface Batch {
  result: SetupResult;
  cpuUs: number;
  redis?: RedisSample;
}

/** Runs `calls` calls, `concurrency` at a time, holding them open until all are timed; then hangs up. */
async function batch(client: ChildProcess, deployment: Deployment, calls: number, concurrency: number): Promise<Batch> {
  const { servers, redis } = deployment;
  const before = await Promise.all(servers.map((s) => s.stats()));
  const redisBefore = await redis?.sample();
  const reply = message<SetupResult>(client, 'result');
  client.send({ type: 'run', webhookPort: deployment.webhookPort, streamPort: deployment.streamPort, calls, concurrency });
  const result = await reply;
  const redisAfter = await redis?.sample();
  const after = await Promise.all(servers.map((s) => s.stats()));
  const closed = message(client, 'closed');
  client.send({ type: 'close' });
  await closed;
  await allEnded(servers);
  return {
    result,
    cpuUs: servers.reduce((sum, _, i) => sum + cpuBetween(before[i]!, after[i]!), 0),
    ...(redisBefore && redisAfter ? { redis: BenchRedis.between(redisBefore, redisAfter) } : {}),
  };
}

/** The batches of one run of one mode, pooled. */
function pooled(mode: Mode, concurrency: number, batches: Batch[]): SetupRun {
  const all = (key: 'webhookMs' | 'streamMs' | 'upgradeMs') => batches.flatMap((b) => b.result[key]);
  const webhookMs = all('webhookMs');
  const streamMs = all('streamMs');
  const served = Math.max(1, webhookMs.length);
  const redis = batches.every((b) => b.redis) ? batches.map((b) => b.redis!) : undefined;
  const sum = (key: keyof RedisSample) => redis!.reduce((n, r) => n + r[key], 0) / served;
  return {
    mode,
    concurrency,
    calls: batches.reduce((n, b) => n + b.result.webhookMs.length + b.result.failures.length, 0),
    failures: batches.flatMap((b) => b.result.failures),
    webhook: quantiles(webhookMs),
    stream: quantiles(streamMs),
    upgrade: quantiles(all('upgradeMs')),
    total: quantiles(webhookMs.map((ms, i) => ms + streamMs[i]!)),
    serverUsPerCall: batches.reduce((n, b) => n + b.cpuUs, 0) / served,
    ...(redis ? { redisUsPerCall: sum('cpuUs'), redisCommandsPerCall: sum('commands'), redisScriptsPerCall: sum('scripts') } : {}),
  };
}

/** Waits until no server holds a session (the calls of the last batch have hung up). */
async function allEnded(servers: BenchServer[]): Promise<void> {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    const stats = await Promise.all(servers.map((s) => s.stats()));
    if (stats.every((s) => (s.sessions ?? 0) === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('sessions were still open 5 s after the calls hung up');
}

function describe(run: SetupRun): string {
  const ms = (q: { p50: number; p99: number }) => `${q.p50.toFixed(2)} / ${q.p99.toFixed(2)}`;
  const redis = run.redisUsPerCall === undefined ? '' : `; Redis ${run.redisUsPerCall.toFixed(0)} µs, ${run.redisScriptsPerCall!.toFixed(1)} scripts (${run.redisCommandsPerCall!.toFixed(1)} commands) per call`;
  const failed = run.failures.length ? `, ${run.failures.length} FAILED (${run.failures.filter(Boolean).join('; ')})` : '';
  return `  setup ${run.mode.padEnd(7)} ${run.calls} calls, ${run.concurrency} at a time: webhook ${ms(run.webhook)}, stream ${ms(run.stream)} (upgrade ${ms(run.upgrade)}), whole ${ms(run.total)} ms p50 / p99; server ${run.serverUsPerCall.toFixed(0)} µs CPU/call${redis}${failed}\n`;
}

/**
 * `runs` runs of each mode, `batches` × `calls` calls one at a time, then `concurrency` at a time.
 * Batches alternate between the modes (single, cluster, single...), so the machine's drifts and
 * neighbours fall on both; each run pools its batches (at most `calls` calls are held at once).
 */
export async function setupRuns(runs: number, batches: number, calls: number, concurrency: number): Promise<SetupRun[]> {
  const redis = await BenchRedis.start();
  const deployments: Deployment[] = [];
  const client = spawnProc('setup-calls.ts', [], { env: { BENCH_AUTH_TOKEN: AUTH_TOKEN, BENCH_PUBLIC_URL: PUBLIC_URL } });
  try {
    await message(client, 'ready');
    deployments.push(await deploy('single', undefined), await deploy('cluster', redis));
    for (const deployment of deployments) await batch(client, deployment, 100, 10); // warm up (JIT), both sides
    const out: SetupRun[] = [];
    for (let round = 0; round < runs; round++) {
      for (const width of [1, concurrency]) {
        const measured = deployments.map((): Batch[] => []);
        for (let b = 0; b < batches; b++) {
          for (const [i, deployment] of deployments.entries()) measured[i]!.push(await batch(client, deployment, calls, width));
        }
        for (const [i, deployment] of deployments.entries()) {
          const run = pooled(deployment.mode, width, measured[i]!);
          process.stdout.write(describe(run));
          out.push(run);
        }
      }
    }
    return out;
  } finally {
    if (client.connected) client.disconnect();
    for (const deployment of deployments) for (const server of deployment.servers) server.stop();
    await redis.stop();
  }
}
