import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { ClientFaults } from './client-faults.js';
import { systemClock } from './clock.js';
import { ConnectionGuard, type ConnectionLimits, koaClientOf, upgradeRefusal } from './http/connection-guard.js';
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

/** Starts a server for `app` on host:port (port 0 picks a free one). */
export async function listen(app: Koa, host = '0.0.0.0', port = 8000, options: HttpServerOptions = {}): Promise<RunningServer> {
  const server = createHttpServer(app, options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
