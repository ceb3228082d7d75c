import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { ClientFaults } from './client-faults.js';
import { systemClock } from './clock.js';
import { ConnectionGuard, type ConnectionLimits, koaClientOf, upgradeRefusal } from './http/connection-guard.js';
import { CallstreamError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Node's server options, the bounds of the sockets it holds (`connections`: see ConnectionLimits),
 * and where refusals are logged (`logger`: rate-limited warnings; none by default).
 */
export type HttpServerOptions = http.ServerOptions & { connections?: ConnectionLimits; logger?: Logger };

/**
 * An HTTP server for a Koa app whose WebSocket upgrades survive Node's request timeouts.
 *
 * koa-easy-ws expects upgrades as ordinary `request` events; Node then keeps timing the upgraded
 * socket as an unfinished request and, after headersTimeout/requestTimeout, writes "408" into the
 * live WebSocket (calls die after 60-90 s). Here upgrades arrive through the `upgrade` event, which
 * takes the socket out of Node's HTTP bookkeeping, and are handed to Koa with a response bound to
 * the socket (so a refusal such as 403 still reaches the client). Such a socket is bounded all the
 * same: an upgrade must be a GET (its body would never reach the route) and must be answered within
 * `headersTimeout`, else the socket is dropped. Unless `options` say otherwise, `headersTimeout` is
 * 10 s and `requestTimeout` 30 s, checked every second (see requestTimeouts).
 *
 * Its sockets are bounded (`options.connections`, ConnectionGuard): in all (below the process's
 * open-file limit), those waiting for a request (the one waiting longest is closed past the bound,
 * so a slow-loris cannot crowd out /health), and the requests one client has in progress (429 past
 * it; the client as the app sees it, proxy trust included; Twilio's routes not counted).
 */
export function createHttpServer(app: Koa, options: HttpServerOptions = {}): http.Server {
  const { connections, logger, ...serverOptions } = options;
  const callback = app.callback();
  const faults = new ClientFaults(systemClock);
  const guard = new ConnectionGuard(connections, koaClientOf(app), logger && ((fields, message) => faults.warn(logger, fields, message)));
  const server = http.createServer({ ...serverOptions, ...requestTimeouts(serverOptions) }, (req, res) => {
    if (guard.request(req, res)) void callback(req, res);
  });
  guard.attach(server);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (head.length > 0) socket.unshift(head);
    socket.on('error', () => socket.destroy());
    // Node no longer feeds an upgraded request's body to `req`: a route reading one would wait forever.
    if (req.method !== 'GET') return refuseUpgrade(socket, 405, 'A WebSocket upgrade must be a GET request.');
    if (!guard.upgrade(req, socket)) {
      const { status, body } = upgradeRefusal(guard.limits.perClient);
      return refuseUpgrade(socket, status, body);
    }
    // Outside Node's request timeouts, so bounded here: an upgrade not answered in time is dropped.
    const deadline = setTimeout(() => {
      if ((socket as import('node:net').Socket).bytesWritten === 0) socket.destroy();
    }, server.headersTimeout || 60_000);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as import('node:net').Socket);
    res.on('finish', () => {
      res.detachSocket(socket as import('node:net').Socket);
      socket.end();
    });
    void callback(req, res);
  });
  return server;
}

/**
 * Tighter than Node's defaults (60 s for headers, 300 s for a request): callstream's bodies are at
 * most 64 KiB, so 10 s for the headers (a few hundred bytes) and 30 s for the whole request leave
 * slow clients plenty.
 *
 * Node enforces both only when it checks its connections, every `connectionsCheckingInterval`
 * (default 30 s, so a 20 s timeout could run to 50 s). Unless given, the interval is a tenth of the
 * shorter timeout, at most a second: a timeout holds to within 10% or a second.
 */
function requestTimeouts(options: http.ServerOptions): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const requestTimeout = options.requestTimeout ?? 30_000;
  const headersTimeout = options.headersTimeout ?? (requestTimeout > 0 ? Math.min(10_000, requestTimeout) : 10_000);
  const timeouts = [headersTimeout, requestTimeout].filter((ms) => ms > 0);
  const derived = timeouts.length > 0 ? Math.max(10, Math.min(1000, Math.floor(Math.min(...timeouts) / 10))) : 30_000;
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: options.connectionsCheckingInterval ?? derived };
}

/** Answers an upgrade request on its raw socket, then closes the socket (`message`, or a JSON body as is). */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = message.startsWith('{') ? message : JSON.stringify({ error: 'BAD_REQUEST', message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

export interface RunningServer {
  server: http.Server;
  /** `http://host:port` as reachable locally. */
  url: string;
  port: number;
  /** Stops accepting connections and closes idle ones; resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * listen()'s options: the server's (HttpServerOptions; its `logger` defaults to the logger of the
 * Stream mounted on the app), and whether to log the one "listening" line.
 */
export type ListenOptions = HttpServerOptions & {
  /** Log one line with the URL the app answers on (default true; the demo server logs its own). */
  announce?: boolean;
};

/** The Streams mounted on each app, for listen()'s line: their loggers and paths. */
const mounts = new WeakMap<Koa, { logger: Logger; path: string }[]>();

/** @internal Stream.mount() records itself here, so that listen() can say where its page is. */
export function noteMount(app: Koa, logger: Logger, path: string): void {
  mounts.set(app, [...(mounts.get(app) ?? []), { logger, path }]);
}

/**
 * Starts a server for `app` on host:port (port 0 picks a free one) and logs one line with the URL
 * it answers on (and the page of each Stream mounted on it). A port in use rejects with a
 * CONFIG_ERROR that names it and says how to pick another.
 */
export async function listen(app: Koa, host = '0.0.0.0', port = 8000, options: ListenOptions = {}): Promise<RunningServer> {
  const { announce = true, ...serverOptions } = options;
  const mounted = mounts.get(app) ?? [];
  const logger = serverOptions.logger ?? mounted[0]?.logger;
  const server = createHttpServer(app, { ...serverOptions, logger });
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => reject(explainListenError(error, host, port));
    server.once('error', refused);
    server.listen(port, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${address.port}`;
  if (announce && logger) logger.info({ url, pages: mounted.map((m) => `${url}${m.path}/`) }, `listening on ${url}`);
  return {
    server,
    url,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * @internal A listen error said so that a person can act on it: a port in use (or not allowed, or an
 * address not on this machine) becomes a CONFIG_ERROR naming host and port, with what to do, in
 * terms of listen()'s arguments or the CLI's flags (`settings`); anything else is returned as it is.
 */
export function explainListenError(error: unknown, host: string, port: number, settings = LISTEN_ARGUMENTS): unknown {
  // Already explained (by listen()): explained again in `settings`' terms.
  if (error instanceof CallstreamError && error.code === 'CONFIG_ERROR' && error.cause) error = error.cause;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new CallstreamError('CONFIG_ERROR', `port ${port} is in use on ${host} (EADDRINUSE).`, {
      cause: error,
      hint: `another program listens there: pick another port with ${settings.port}; 0 picks a free one.`,
    });
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new CallstreamError('CONFIG_ERROR', `cannot listen on ${host}:${port} (${code}).`, {
      cause: error,
      hint: code === 'EACCES' ? `this port needs privileges: pick another with ${settings.port}.` : `${host} is not an address of this machine: check ${settings.host}.`,
    });
  }
  return error;
}

/** How a listen error's hint names the host and port settings: listen()'s arguments, or the CLI's flags. */
export const LISTEN_ARGUMENTS = { host: "listen()'s host", port: "listen()'s port" };
export const LISTEN_FLAGS = { host: '--host or HOST', port: '--port or PORT' };
