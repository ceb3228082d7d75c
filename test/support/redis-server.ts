import net from 'node:net';
import { freePort, spawnTestProcess, type TestProcess, waitReady } from './child-process.js';

/** A throwaway Debian redis-server on loopback, for tests: no persistence, so a restart comes back empty. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  running(): boolean;
  /** Stops it cleanly (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
  /** Kills it (SIGKILL), as a crash would, and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (as a real restart without persistence); stops it first if running. */
  restart(): Promise<void>;
  /** Its log so far (for failure messages). */
  output(): string;
}

/** Starts `redis-server` on a free loopback port; resolves once it answers PING. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let proc = await launch(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => proc.running(),
    stop: () => proc.stop('SIGTERM'),
    kill: () => proc.stop('SIGKILL'),
    async restart() {
      await proc.stop('SIGTERM');
      proc = await launch(port);
    },
    output: () => proc.output(),
  };
}

async function launch(port: number): Promise<TestProcess> {
  const proc = spawnTestProcess('redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--loglevel', 'warning',
  ]);
  await waitReady(proc, `redis-server on port ${port}`, () => answersPing(port));
  return proc;
}

/** True when a Redis on `port` answers PING with PONG (false on any error or after 500 ms). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}
