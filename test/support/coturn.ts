import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Coturn {
  /** `turn:127.0.0.1:PORT?transport=udp` */
  url: string;
  port: number;
  username: string;
  credential: string;
  /** The server's log so far (for failure messages). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (coturn listens on the same number over UDP and TCP). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Debian's coturn (`/usr/bin/turnserver`) on loopback, as a child process: UDP/TCP only (no TLS or
 * DTLS), one static long-term user, loopback peers allowed, no CLI, logs and pid in a temp directory.
 * Resolves once it accepts TCP connections on its port.
 */
export async function startCoturn(): Promise<Coturn> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'callstream-coturn-'));
  const port = await freePort();
  const username = 'callstream';
  const credential = 'relay-secret';
  const logFile = path.join(dir, 'turn.log');
  const child: ChildProcess = spawn(
    '/usr/bin/turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--min-port=49152',
      '--max-port=65535',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--lt-cred-mech',
      `--user=${username}:${credential}`,
      '--realm=callstream.test',
      `--userdb=${path.join(dir, 'turndb')}`,
      `--log-file=${logFile}`,
      '--simple-log',
      '--no-stdout-log',
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = await log();
      await stop();
      throw new Error(`turnserver exited (${child.exitCode}): ${text}`);
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      const text = await log();
      await stop();
      throw new Error(`turnserver did not listen on ${port} within 5 s: ${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, port, username, credential, log, stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
