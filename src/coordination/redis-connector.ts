import net from 'node:net';
import tls from 'node:tls';
import { AbstractConnector, type RedisOptions } from 'ioredis';

/**
 * How ioredis opens its socket (net, or tls for `rediss://`), with one difference: the socket keeps
 * an `error` listener for its whole life. ioredis listens with `once`, and a TLS handshake that fails
 * can raise two errors (the refused certificate, then the server's alert): the second, unheard,
 * would crash the process. Errors still reach ioredis (its own listener) and RedisCoordination.
 */
export class GuardedConnector extends AbstractConnector {
  private readonly options: RedisOptions & { path?: string };

  constructor(options: unknown) {
    const given = options as RedisOptions & { path?: string };
    super(given.disconnectTimeout ?? 2000);
    this.options = given;
  }

  connect(): Promise<net.Socket | tls.TLSSocket> {
    this.connecting = true;
    const { host, port, path, family } = this.options;
    const where = path ? { path } : { host, port, family };
    return new Promise((resolve, reject) => {
      // As ioredis does: a disconnect() before the next tick means no socket at all.
      process.nextTick(() => {
        if (!this.connecting) return reject(new Error('Connection is closed.'));
        let stream: net.Socket | tls.TLSSocket;
        try {
          stream = this.options.tls ? tls.connect({ ...where, ...this.options.tls } as tls.ConnectionOptions) : net.createConnection(where as net.NetConnectOpts);
        } catch (error) {
          return reject(error);
        }
        stream.on('error', () => {});
        stream.once('error', (error: Error) => (this.firstError = error));
        this.stream = stream;
        resolve(stream);
      });
    });
  }
}
