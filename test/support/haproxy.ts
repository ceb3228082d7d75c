import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnTestProcess, waitReady } from './child-process.js';

export interface HaproxyOptions {
  /** Backend ports on 127.0.0.1, in order (servers `s0`, `s1`...). */
  backends: number[];
  /**
   * Health checks: `tcp` (default) only connects; `http` sends `GET <path>` (default `/health`) and takes
   * a server out of rotation unless it answers 2xx/3xx (a draining instance answers 503).
   */
  check?: 'tcp' | 'http';
  checkPath?: string;
}

/** Debian's haproxy, in the foreground, balancing TCP connections round-robin over loopback backends. */
export interface Haproxy {
  /** `http://127.0.0.1:PORT` (use `ws://` with the same port for WebSockets). */
  readonly url: string;
  readonly port: number;
  /** Each backend server's state as haproxy sees it (`UP`, `DOWN`, `UP 1/2`...), in the order given. */
  serverStates(): Promise<string[]>;
  /** Resolves once every server's state satisfies `predicate` (polled), else throws after `timeoutMs`. */
  waitForStates(predicate: (states: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Its log so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts haproxy (`haproxy -f cfg -db`) in `mode tcp`, `balance roundrobin`, per connection: every new
 * connection goes to the next backend that passes its health checks (`check inter 300 fall 2 rise 1`:
 * a dead one is out within a second). Client and server timeouts are long (media WebSockets live for
 * minutes). Resolves once its admin socket answers.
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'callstream-haproxy-'));
  const port = await freePort();
  const socketPath = path.join(dir, 'admin.sock');
  const configPath = path.join(dir, 'haproxy.cfg');
  await writeFile(configPath, config(port, socketPath, options));
  const proc = spawnTestProcess('haproxy', ['-f', configPath, '-db']);
  const stop = async () => {
    await proc.stop('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  const serverStates = async () => parseStates(await adminCommand(socketPath, 'show stat'));
  try {
    await waitReady(proc, `haproxy on port ${port}`, () =>
      serverStates().then((states) => states.length === options.backends.length, () => false),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    serverStates,
    async waitForStates(predicate, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const states = await serverStates();
        if (predicate(states)) return states;
        if (performance.now() > deadline) throw new Error(`haproxy servers stayed ${states.join(', ')} for ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    output: () => proc.output(),
    stop,
  };
}

function config(port: number, socketPath: string, options: HaproxyOptions): string {
  const httpCheck = options.check === 'http' ? [`  option httpchk GET ${options.checkPath ?? '/health'}`] : [];
  return [
    'global',
    '  maxconn 1024',
    `  stats socket ${socketPath} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 1s',
    'frontend callstream',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    ...httpCheck,
    ...options.backends.map((backend, i) => `  server s${i} 127.0.0.1:${backend} check inter 300 fall 2 rise 1`),
    '',
  ].join('\n');
}

/** Sends one command to haproxy's admin socket and resolves with its whole answer. */
function adminCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('haproxy admin socket timed out')));
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.once('end', () => resolve(answer));
    socket.once('error', reject);
  });
}

/** The `status` column of the backend's servers in `show stat` CSV. */
function parseStates(csv: string): string[] {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const name = columns.indexOf('pxname');
  const server = columns.indexOf('svname');
  const status = columns.indexOf('status');
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells[name] === 'instances' && /^s\d+$/.test(cells[server] ?? ''))
    .map((cells) => cells[status] ?? '');
}
