import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnTestProcess, type TestProcess } from '../test/support/child-process.js';
import { treeCpuUs } from './proc-cpu.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `callstream serve` as users run it (the compiled bin; BENCH_SOURCE=1: the sources through tsx). */
export interface ServeProcess {
  port: number;
  /** CPU (µs) used so far by the process and its children (the node:cluster workers). */
  cpuUs(): number;
  stop(): Promise<void>;
}

/**
 * Starts `callstream serve --workers N --handler echo` on a free loopback port, with nothing from the
 * environment that would change it (no Redis, no auth token; logs at warn, like the bench servers'
 * silent logger). Resolves once every worker has answered GET /health.
 */
export async function startServe(workers: number): Promise<ServeProcess> {
  const port = await freePort();
  const entry = process.env.BENCH_SOURCE === '1' ? ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')] : [path.join(ROOT, 'dist/src/cli/main.js')];
  const cleared = ['REDIS_URL', 'TWILIO_AUTH_TOKEN', 'TWILIO_ACCOUNT_SID', 'PUBLIC_URL', 'CONCURRENCY_LIMIT', 'TIME_LIMIT', 'INSTANCE_ID', 'DYNO', 'WEB_CONCURRENCY', 'METRICS_TOKEN'];
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', DRAIN_MS: '0' };
  for (const name of cleared) delete env[name];
  const proc = spawnTestProcess(process.execPath, [...entry, 'serve', '--workers', String(workers), '--host', '127.0.0.1', '--port', String(port), '--handler', 'echo'], { env, cwd: ROOT });
  await allWorkersAnswer(proc, port, workers);
  return {
    port,
    cpuUs: () => treeCpuUs(proc.child.pid!),
    stop: () => proc.stop('SIGTERM'),
  };
}

/** Polls /health on new connections until `workers` different instances have answered (node:cluster deals connections round-robin). */
async function allWorkersAnswer(proc: TestProcess, port: number, workers: number): Promise<void> {
  const seen = new Set<string>();
  const deadline = performance.now() + 15_000;
  while (seen.size < workers) {
    if (!proc.running()) throw new Error(`callstream serve exited before it was ready:\n${proc.output()}`);
    if (performance.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`callstream serve --workers ${workers}: ${seen.size} answered within 15 s:\n${proc.output()}`);
    }
    const instanceId = await health(port).catch(() => undefined);
    if (instanceId) seen.add(instanceId);
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function health(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as { instanceId?: string }).instanceId : undefined));
    });
    req.on('error', reject);
  });
}
