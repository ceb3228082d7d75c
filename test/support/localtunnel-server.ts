import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** The domain of the fake's public URLs: `http://<id>.lt.test:<port>`. */
export const TUNNEL_DOMAIN = 'lt.test';

/** One tunnel client: its TCP listener and the sockets the client opened to it. */
class TunnelClient {
  readonly idle: net.Socket[] = [];
  readonly all = new Set<net.Socket>();
  private readonly waiters: ((socket: net.Socket) => void)[] = [];
  readonly listener = net.createServer((socket) => this.add(socket));

  constructor(
    readonly id: string,
    readonly maxSockets: number,
  ) {}

  /** A socket to the client's local server, waiting for one to come free (each holds one request or WebSocket). */
  take(): Promise<net.Socket> {
    const socket = this.idle.shift();
    if (socket) return Promise.resolve(socket);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Public requests waiting for a socket to come free. */
  get waiting(): number {
    return this.waiters.length;
  }

  close(): void {
    for (const socket of this.all) socket.destroy();
    this.listener.close();
  }

  private add(socket: net.Socket): void {
    if (this.all.size >= this.maxSockets) {
      socket.destroy();
      return;
    }
    this.all.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.all.delete(socket);
      const at = this.idle.indexOf(socket);
      if (at >= 0) this.idle.splice(at, 1);
    });
    const waiter = this.waiters.shift();
    if (waiter) waiter(socket);
    else this.idle.push(socket);
  }
}

/** An http.Agent whose connections are the tunnel client's sockets (one request each). */
class TunnelAgent extends http.Agent {
  constructor(private readonly client: TunnelClient) {
    super({ keepAlive: false });
  }

  override createConnection(_options: unknown, callback: (error: Error | null, socket: Duplex) => void): undefined {
    void this.client.take().then((socket) => callback(null, socket));
    return undefined;
  }
}

export interface LocaltunnelServerOptions {
  /** Sockets each client may open (`max_conn_count`). Default 4. */
  maxSockets?: number;
}

/**
 * A localtunnel server on loopback, speaking the protocol the `localtunnel` client expects:
 * `GET /?new` and `GET /<subdomain>` answer `{id, port, max_conn_count, url}`; the client opens
 * up to max_conn_count TCP sockets to `port`; public requests, routed by their Host header
 * (`<id>.lt.test`), travel over those sockets, WebSocket upgrades included (each holds a socket).
 */
export class FakeLocaltunnelServer {
  /** Where clients ask for tunnels (`--tunnel-host`), and where public requests are sent. */
  url = '';
  port = 0;
  readonly clients = new Map<string, TunnelClient>();
  /** Tunnel requests seen (`?new` or the subdomain asked for). */
  readonly handshakes: string[] = [];
  /** Subdomains answered with 403 and this message (as a server refusing a name does). */
  readonly refusals = new Map<string, string>();
  private readonly maxSockets: number;
  private readonly server = http.createServer((req, res) => void this.onRequest(req, res));

  static async start(options: LocaltunnelServerOptions = {}): Promise<FakeLocaltunnelServer> {
    const fake = new FakeLocaltunnelServer(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as net.AddressInfo).port;
    fake.url = `http://127.0.0.1:${fake.port}`;
    return fake;
  }

  private constructor(options: LocaltunnelServerOptions) {
    this.maxSockets = options.maxSockets ?? 4;
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.onUpgrade(req, socket, head));
  }

  /** The Host header of a tunnel's public URL (`<id>.lt.test:<port>`). */
  hostOf(publicUrl: string): string {
    return new URL(publicUrl).host;
  }

  /** Sockets the client with this id holds open to the server now. */
  socketCount(id: string): number {
    return this.clients.get(id)?.all.size ?? 0;
  }

  /** Public requests to the tunnel at `publicUrl` waiting for one of its sockets to come free. */
  waitingFor(publicUrl: string): number {
    return this.clientFor(this.hostOf(publicUrl))?.waiting ?? 0;
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private clientFor(host: string | undefined): TunnelClient | undefined {
    const hostname = (host ?? '').replace(/:\d+$/, '');
    if (!hostname.endsWith(`.${TUNNEL_DOMAIN}`)) return undefined;
    return this.clients.get(hostname.slice(0, -TUNNEL_DOMAIN.length - 1));
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = this.clientFor(req.headers.host);
    if (target) return this.forward(target, req, res);
    if ((req.headers.host ?? '').includes(`.${TUNNEL_DOMAIN}`)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no active client for this host');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const wanted = url.search === '?new' ? undefined : url.pathname.slice(1);
    this.handshakes.push(wanted ?? '?new');
    if (wanted !== undefined) {
      const refusal = this.refusals.get(wanted);
      if (refusal || !/^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/.test(wanted)) {
        res.writeHead(403, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: refusal ?? 'Invalid subdomain.' }));
        return;
      }
    }
    const id = wanted && !this.clients.has(wanted) ? wanted : randomBytes(5).toString('hex');
    const client = new TunnelClient(id, this.maxSockets);
    await new Promise<void>((resolve) => client.listener.listen(0, '127.0.0.1', resolve));
    this.clients.set(id, client);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        id,
        port: (client.listener.address() as net.AddressInfo).port,
        max_conn_count: this.maxSockets,
        url: `http://${id}.${TUNNEL_DOMAIN}:${this.port}`,
      }),
    );
  }

  private forward(client: TunnelClient, req: http.IncomingMessage, res: http.ServerResponse): void {
    const upstream = http.request({ method: req.method, path: req.url, headers: req.headers, agent: new TunnelAgent(client) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const client = this.clientFor(req.headers.host);
    if (!client) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const tunnel = await client.take();
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    tunnel.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length > 0) tunnel.write(head);
    tunnel.pipe(socket).pipe(tunnel);
    const end = () => {
      socket.destroy();
      tunnel.destroy();
    };
    tunnel.once('close', end);
    socket.once('close', end);
  }
}
