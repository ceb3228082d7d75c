import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSX = ['--import', 'tsx'];

/** What a benchmark server process reports. */
export interface ServerStats {
  /** CPU used so far, read before the GC that stats force (for the memory figures)... */
  cpu: NodeJS.CpuUsage;
  /** ...and after it: an interval runs from one's cpuAfterGc to the next one's cpu. */
  cpuAfterGc?: NodeJS.CpuUsage;
  /** CPU seconds used so far by the server's child processes (ffmpeg). */
  childrenCpu?: number;
  memory: NodeJS.MemoryUsage;
  resources?: number;
  sessions?: number;
  inbound: number[];
  outbound: number[];
}

/** Server CPU (µs) between two stats, the GC forced by the first one left out. */
export function cpuBetween(before: ServerStats, after: ServerStats): number {
  const start = before.cpuAfterGc ?? before.cpu;
  return after.cpu.user + after.cpu.system - start.user - start.system;
}

/** Resolves with the first IPC message of `type` from a child (rejects if it exits first). */
export function message<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string } & T) => {
      if (m.type !== type) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`waiting for ${type}: the process exited (${code})`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/**
 * Runs a load process (a bench/procs script) through its phases and samples around its media:
 * `sample()` once the load reports `connected` and again when it reports its `result`. A phased load
 * (load.ts ... phased) starts its media on `go` and hangs up on `close` (answering `closed`), so
 * connecting and hanging up stay outside the two samples.
 */
export async function measureLoad<R, S>(
  load: ChildProcess,
  sample: () => Promise<S>,
  phased: boolean,
): Promise<{ result: R; before: S; after: S; wallS: number }> {
  await message(load, 'connected');
  const before = await sample();
  const started = performance.now();
  const finished = message<R>(load, 'result');
  if (phased) load.send({ type: 'go' });
  const result = await finished;
  const wallS = (performance.now() - started) / 1000;
  const after = await sample();
  if (phased) {
    const closed = message(load, 'closed');
    load.send({ type: 'close' });
    await closed;
  }
  return { result, before, after, wallS };
}

/** Runs a bench/procs script as a child process (TypeScript through tsx, IPC on). */
export function spawnProc(script: string, args: string[], options: { gc?: boolean; env?: Record<string, string> } = {}): ChildProcess {
  return fork(path.join(HERE, 'procs', script), args, {
    execArgv: [...TSX, ...(options.gc ? ['--expose-gc'] : [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
}

/** What the telephone load generator (procs/load.ts) reports at the end of its media phase. */
export interface LoadResult {
  sent: number;
  received: number;
  late: number;
  maxLateMs: number;
  /** The generator's own CPU over the phase (µs). */
  cpuUs: number;
  /** The largest delay of the generator's own event loop (ms). */
  loopDelayMaxMs: number;
}

export interface BenchServer {
  child: ChildProcess;
  port: number;
  url: string;
  stats(): Promise<ServerStats>;
  stop(): void;
}

/** Starts a server process (server.ts kinds, or raw-webrtc.ts) and waits until it listens. */
export async function startServer(script: string, args: string[], env: Record<string, string> = {}): Promise<BenchServer> {
  const child = spawnProc(script, args, { gc: true, env });
  const { port } = await message<{ port: number }>(child, 'ready');
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    async stats() {
      const reply = message<ServerStats>(child, 'stats');
      child.send({ type: 'stats' });
      return reply;
    },
    stop() {
      if (child.connected) child.disconnect();
    },
  };
}
