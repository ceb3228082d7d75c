import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clientKey } from './rate-limit.js';

/** How many sockets the HTTP server holds, and how many one client may use. */
export interface ConnectionLimits {
  /**
   * Sockets open at once; past it a new one is answered 503 and closed, unless a socket that is
   * waiting can be closed to make room. Default: the process's open-file limit (soft
   * RLIMIT_NOFILE) less a fifth, at least 128, left for sessions' UDP sockets, files and Redis
   * (16,000 of 20,000); 8192 when the limit cannot be read.
   */
  maxConnections?: number;
  /**
   * Sockets waiting: connected without a whole request's headers yet (a slow-loris holds these), or
   * idle between keep-alive requests. Past it the one waiting longest is closed (one that never sent
   * a request before an idle one), so a flood of them cannot crowd out a client that sends its
   * request. Default: a quarter of maxConnections.
   */
  maxWaiting?: number;
  /**
   * Requests one client has in progress at once, event streams and WebSockets included; past it
   * 429 CONNECTION_LIMIT. The client is the request's address after proxy trust (Koa's `app.proxy`:
   * X-Forwarded-For behind a proxy, where every socket comes from the proxy), an IPv6 client by its
   * /64. Twilio's routes (`.../telephone/incoming|handler|status`, guarded by signatures) are not
   * counted, as Twilio carries many calls from few addresses, nor `/health`. Default 128.
   */
  perClient?: number;
}

/**
 * Requests not counted per client, under any mount path: Twilio's routes (their signatures guard
 * them, and Twilio carries many calls from few addresses) and /health (a balancer's probe, answered
 * at once).
 */
const NOT_COUNTED = /\/(?:telephone\/(?:incoming|handler|status)|health)\/?(?:\?|$)/;

/** The process's soft limit on open files, or undefined when it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line) return line[1] === 'unlimited' ? Infinity : Number(line[1]);
  } catch {
    // Not Linux: ask the shell.
  }
  try {
    const said = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000 }).trim();
    return said === 'unlimited' ? Infinity : Number(said) || undefined;
  } catch {
    return undefined;
  }
}

/** The limits with their defaults, from the open-file limit when given. */
export function resolveConnectionLimits(limits: ConnectionLimits = {}, fileLimit = openFileLimit()): Required<ConnectionLimits> {
  const fromFiles = fileLimit === undefined ? 8192 : Math.min(65_536, Math.max(128, fileLimit - Math.max(128, Math.floor(fileLimit / 5))));
  const maxConnections = limits.maxConnections ?? fromFiles;
  const resolved = { maxConnections, maxWaiting: limits.maxWaiting ?? Math.max(16, Math.floor(maxConnections / 4)), perClient: limits.perClient ?? 128 };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`connections.${name} must be a positive integer; got ${String(value)}.`);
  }
  return resolved;
}

/** The client a request counts for: Koa's `ctx.ip` (proxy trust included), then `clientKey()`. */
export type ClientOf = (req: http.IncomingMessage) => string;

/**
 * Keeps an HTTP server answering while one client holds many sockets: bounds the sockets in all,
 * closes the one waiting longest when too many wait (half-open or idle), and bounds the requests in
 * progress per client (see ConnectionLimits). One guard per server; the server hands it every
 * request and upgrade (createHttpServer does).
 */
export class ConnectionGuard {
  readonly limits: Required<ConnectionLimits>;
  /** Sockets that have sent no request yet, the one waiting longest first (a Set keeps insertion order). */
  private readonly fresh = new Set<Socket>();
  /** Sockets idle between keep-alive requests (their clients have shown themselves), longest first. */
  private readonly idle = new Set<Socket>();
  private readonly inFlight = new WeakMap<Socket, number>();
  private readonly byClient = new Map<string, number>();
  /** Sockets answered 503 for want of room: whatever they send is dropped. */
  private readonly refused = new WeakSet<Socket>();
  private sockets = 0;
  /** Sockets closed to make room, and sockets and requests refused (for logs and tests). */
  readonly counts = { evicted: 0, refusedSockets: 0, refusedRequests: 0 };

  constructor(
    limits: ConnectionLimits | undefined,
    private readonly clientOf: ClientOf,
    /** Told of each refusal or eviction (`listen()` logs them as rate-limited warnings). */
    private readonly onFault: (fields: Record<string, unknown>, message: string) => void = () => {},
  ) {
    this.limits = resolveConnectionLimits(limits);
  }

  /** Follows the server's sockets from their connection on. */
  attach(server: http.Server): void {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** Sockets open now, and those waiting. */
  get open(): { sockets: number; waiting: number } {
    return { sockets: this.sockets, waiting: this.waitingCount };
  }

  private get waitingCount(): number {
    return this.fresh.size + this.idle.size;
  }

  /**
   * A request's headers are in: its socket is busy until the response is done. Returns false (and
   * answers 429) when its client is over `perClient`.
   */
  request(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const socket = req.socket;
    if (this.refused.has(socket)) {
      socket.destroy();
      return false;
    }
    const release = this.enter(req);
    if (!release) {
      res.writeHead(429, refusalHeaders(this.limits.perClient)).end(refusalBody(this.limits.perClient));
      return false;
    }
    this.busy(socket);
    res.once('close', () => {
      release();
      this.done(socket);
    });
    return true;
  }

  /** An upgrade's headers are in: its socket is busy for good. Returns false when over `perClient` (the caller answers). */
  upgrade(req: http.IncomingMessage, socket: Duplex): boolean {
    if (this.refused.has(socket as Socket)) {
      socket.destroy();
      return false;
    }
    const release = this.enter(req);
    if (!release) return false;
    this.busy(socket as Socket);
    socket.once('close', release);
    return true;
  }

  private onConnection(socket: Socket): void {
    if (this.sockets >= this.limits.maxConnections && !this.evictOldest()) {
      this.counts.refusedSockets++;
      this.onFault({ maxConnections: this.limits.maxConnections, remoteAddress: socket.remoteAddress }, 'connection refused: the server holds its most sockets');
      this.refused.add(socket);
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
      return;
    }
    this.sockets++;
    this.fresh.add(socket);
    if (this.waitingCount > this.limits.maxWaiting) this.evictOldest();
    socket.once('close', () => {
      this.sockets--;
      this.fresh.delete(socket);
      this.idle.delete(socket);
    });
  }

  /** Counts a request for its client; undefined when the client is over its bound. */
  private enter(req: http.IncomingMessage): (() => void) | undefined {
    if (NOT_COUNTED.test(req.url ?? '')) return () => {};
    const client = this.clientOf(req);
    const held = this.byClient.get(client) ?? 0;
    if (held >= this.limits.perClient) {
      this.counts.refusedRequests++;
      this.onFault({ client, perClient: this.limits.perClient }, 'request refused: this client has its most requests in progress');
      return undefined;
    }
    this.byClient.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    };
  }

  private busy(socket: Socket): void {
    this.inFlight.set(socket, (this.inFlight.get(socket) ?? 0) + 1);
    this.fresh.delete(socket);
    this.idle.delete(socket);
  }

  /** A response is done: a socket left open with nothing in progress waits again (keep-alive), as the newest. */
  private done(socket: Socket): void {
    const left = (this.inFlight.get(socket) ?? 1) - 1;
    this.inFlight.set(socket, left);
    if (left === 0 && !socket.destroyed) this.idle.add(socket);
  }

  /** Closes the socket waiting longest, one that never sent a request first; false when none waits. */
  private evictOldest(): boolean {
    for (const socket of this.fresh.size > 0 ? this.fresh : this.idle) {
      this.fresh.delete(socket);
      this.idle.delete(socket);
      this.counts.evicted++;
      this.onFault({ maxWaiting: this.limits.maxWaiting, remoteAddress: socket.remoteAddress }, 'socket closed: too many wait for a request (slow or idle clients)');
      socket.destroy();
      return true;
    }
    return false;
  }
}

/** Koa's `ctx.ip` for a raw request (X-Forwarded-For only when the app trusts its proxy), as a client key. */
export function koaClientOf(app: { proxy: boolean; proxyIpHeader: string; maxIpsCount: number }): ClientOf {
  return (req) => {
    let ip = req.socket.remoteAddress ?? '';
    if (app.proxy) {
      const header = req.headers[app.proxyIpHeader.toLowerCase()];
      let ips = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(/\s*,\s*/).filter(Boolean);
      if (app.maxIpsCount > 0) ips = ips.slice(-app.maxIpsCount);
      ip = ips[0] ?? ip;
    }
    return clientKey(ip);
  };
}

function refusalBody(perClient: number): string {
  return JSON.stringify({ error: 'CONNECTION_LIMIT', message: `This address has ${perClient} requests in progress, its most: close some, then try again.` });
}

function refusalHeaders(perClient: number): http.OutgoingHttpHeaders {
  return { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(refusalBody(perClient)), Connection: 'close', 'Retry-After': '5' };
}

/** What an upgrade over its client's bound is answered with (status, body). */
export function upgradeRefusal(perClient: number): { status: 429; body: string } {
  return { status: 429, body: refusalBody(perClient) };
}
