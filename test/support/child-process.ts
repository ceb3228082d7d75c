import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import net from 'node:net';

/** A free TCP port on loopback (free when asked: bind it soon). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const alive = new Set<ChildProcess>();
let reaperInstalled = false;

/** SIGKILLs every child still alive when this process exits, however it exits (mocha failing, Ctrl-C). */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.once('exit', () => {
    for (const child of alive) child.kill('SIGKILL');
  });
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      for (const child of alive) child.kill('SIGKILL');
      // Without another listener (mocha's), the signal's default was to exit: keep it so.
      if (process.listenerCount(signal) === 1) process.exit(status);
    });
  }
}

/** A test server as a child process: its exit as a promise, its output kept (the last 64 KiB) for failure messages. */
export interface TestProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  running(): boolean;
  output(): string;
  /** Sends `signal` (unless it has exited) and resolves once it has. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `command` with piped output. The child does not keep this process alive and is SIGKILLed
 * when this process exits, if still alive.
 */
export function spawnTestProcess(command: string, args: string[], options: SpawnOptions = {}): TestProcess {
  installReaper();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  alive.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // A forgotten server does not hold the test run open: the reaper kills it when the run exits.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as (typeof stream & { unref?: () => void }) | null)?.unref?.();
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      output += `\nspawn failed: ${error.message}`;
      alive.delete(child);
      resolve();
    });
    child.once('exit', () => {
      alive.delete(child);
      resolve();
    });
  });
  const running = () => alive.has(child);
  return {
    child,
    exited,
    running,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (running()) {
        child.ref(); // awaiting its exit keeps this process alive
        child.kill(signal);
      }
      await exited;
    },
  };
}

/** Polls `ready` every 25 ms until it resolves true; throws (with the child's output) if the child exits or `timeoutMs` passes. */
export async function waitReady(proc: TestProcess, what: string, ready: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!proc.running()) throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    if (await ready()) return;
    if (performance.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
