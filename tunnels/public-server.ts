import Koa from 'koa';
import type { Logger } from '../src/logger.js';
import { explainListenError, LISTEN_FLAGS, listen, type RunningServer } from '../src/server.js';
import type { Stream } from '../src/stream.js';
import { LocalTunnel } from './localtunnel.js';
import type { OpenTunnel, Tunnel } from './tunnel.js';

/** Where and how a Stream is served publicly. */
export interface PublicServerOptions {
  /** How the server is reached publicly. Default: a localtunnel tunnel (`new LocalTunnel()`). */
  tunnel?: Tunnel;
  /** Where the local server listens. Default `127.0.0.1` (only the tunnel needs to reach it). */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Where to mount the Stream. Default: the root. */
  path?: string;
  /** Live sessions get this long to end by themselves when closing (ms). Default 0. */
  drainMs?: number;
}

/** A Stream on a local server behind an open tunnel, until closed. */
export interface PublicServer {
  readonly running: RunningServer;
  readonly tunnel: OpenTunnel;
  /** The tunnel's public origin, also the Stream's `publicUrl` now. */
  readonly publicUrl: string;
  /** Where the Stream is mounted ('' for the root). */
  readonly mountPath: string;
  /** Closes the tunnel, ends the Stream's sessions (after `drainMs`) and stops the server. Idempotent. */
  close(): Promise<void>;
  /** Closes the tunnel and the server but leaves the Stream usable (nothing was served yet). */
  release(): Promise<void>;
}

/**
 * Mounts `stream` on a fresh Koa app, listens on host:port, opens the tunnel to it and makes the
 * tunnel's URL the Stream's public URL (TwiML URLs and signature checks use it, never the Host
 * header a tunnel may rewrite). If the tunnel does not open, the server is closed again.
 */
export async function servePublicly(stream: Stream, options: PublicServerOptions, log: Logger): Promise<PublicServer> {
  const app = new Koa();
  const mountPath = normalizeMountPath(options.path ?? '');
  stream.mount(app, mountPath);
  const host = options.host ?? '127.0.0.1';
  const running = await listenOrExplain(app, host, options.port ?? 8000);
  const stopServer = async () => {
    const closed = running.close();
    running.server.closeAllConnections();
    await closed;
  };
  let tunnel: OpenTunnel;
  try {
    tunnel = await (options.tunnel ?? new LocalTunnel({ logger: log })).open(running.port, { localHost: localHostFor(host) });
  } catch (error) {
    await stopServer();
    throw error;
  }
  stream.setPublicUrl(tunnel.url);
  let closing: Promise<void> | undefined;
  return {
    running,
    tunnel,
    publicUrl: tunnel.url,
    mountPath,
    close: () =>
      (closing ??= (async () => {
        await tunnel.close();
        const closed = running.close();
        await stream.shutdown(options.drainMs ?? 0);
        running.server.closeAllConnections();
        await closed;
      })()),
    release: () =>
      (closing ??= (async () => {
        await tunnel.close();
        await stopServer();
      })()),
  };
}

async function listenOrExplain(app: Koa, host: string, port: number): Promise<RunningServer> {
  try {
    return await listen(app, host, port, { announce: false });
  } catch (error) {
    throw explainListenError(error, host, port, LISTEN_FLAGS);
  }
}

/** The address the tunnel connects to: the listening one, or loopback for a wildcard. */
function localHostFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function normalizeMountPath(path: string): string {
  if (path === '' || path === '/') return '';
  return (path.startsWith('/') ? path : `/${path}`).replace(/\/+$/, '');
}
