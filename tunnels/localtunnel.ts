import { EventEmitter } from 'node:events';
import { type Clock, systemClock } from '../src/clock.js';
import { CallstreamError, describeError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { createLocaltunnelClient, type LocaltunnelClient, requestTunnel } from './localtunnel-client.js';
import type { OpenTunnel, OpenTunnelEvents, Tunnel, TunnelOpenOptions } from './tunnel.js';

/** The public localtunnel server; its tunnels are `https://<name>.loca.lt`. */
export const PUBLIC_LOCALTUNNEL_HOST = 'https://localtunnel.me';

export interface LocalTunnelOptions {
  /** The localtunnel server. Default `https://localtunnel.me`. */
  host?: string;
  /** Ask for this name (`https://<subdomain>.loca.lt`): 4-63 of a-z, 0-9 and inner hyphens. Default: one the server picks. */
  subdomain?: string;
  /** Give up opening after this long (ms). Default 15000. */
  startTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Checks a subdomain locally: the client retries forever when a server refuses one, so a bad name
 * must never reach it. Lowercase letters, digits and hyphens, 4-63 characters, no hyphen at an end.
 */
export function validateSubdomain(subdomain: string): string {
  if (!/^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/.test(subdomain)) {
    throw new CallstreamError('CONFIG_ERROR', `"${subdomain}" cannot be a tunnel subdomain.`, {
      hint: 'use 4-63 lowercase letters, digits and hyphens (not at either end), e.g. --subdomain my-voice-bot.',
    });
  }
  return subdomain;
}

/**
 * A tunnel through a localtunnel server (the `localtunnel` npm client). Opening fails with a
 * TUNNEL_ERROR when the server refuses, or after `startTimeoutMs` when it does not answer; nothing
 * of the attempt is left running afterwards. Each live WebSocket (each phone call) holds one of the
 * server's sockets (`max_conn_count`, 10 on the public server) for its whole length.
 */
export class LocalTunnel implements Tunnel {
  readonly name = 'localtunnel';
  readonly host: string;
  readonly subdomain: string | undefined;
  private readonly startTimeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;

  constructor(options: LocalTunnelOptions = {}) {
    this.host = checkHost(options.host ?? PUBLIC_LOCALTUNNEL_HOST);
    this.subdomain = options.subdomain === undefined ? undefined : validateSubdomain(options.subdomain);
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
  }

  async open(port: number, options: TunnelOpenOptions = {}): Promise<OpenTunnel> {
    const controller = new AbortController();
    // The clock's timers do not hold the process open; this does, until opening settles.
    const hold = setTimeout(() => {}, this.startTimeoutMs + 1000);
    let lastProblem = 'no answer';
    const timer = this.clock.after(this.startTimeoutMs, () =>
      controller.abort(
        new CallstreamError('TUNNEL_ERROR', `No tunnel from ${this.host} within ${this.startTimeoutMs} ms (last problem: ${lastProblem}).`, {
          hint: this.host === PUBLIC_LOCALTUNNEL_HOST
            ? 'the public localtunnel server is often down: try again later, or use --public-url with another tunnel (ngrok, cloudflared).'
            : 'check that the localtunnel server in --tunnel-host is running and reachable.',
        }),
      ),
    );
    const client = createLocaltunnelClient({ port, host: this.host, subdomain: this.subdomain, local_host: options.localHost ?? '127.0.0.1' }, () =>
      requestTunnel({
        host: this.host,
        subdomain: this.subdomain,
        signal: controller.signal,
        clock: this.clock,
        onRetry: (problem) => {
          lastProblem = problem;
          this.logger?.debug({ host: this.host, problem }, 'localtunnel server not answering; retrying');
        },
      }),
    );
    // The client emits socket errors for as long as it lives: an unheard one would throw.
    client.on('error', (error: Error) => this.logger?.debug({ err: error, host: this.host }, 'localtunnel client error'));
    try {
      await new Promise<void>((resolve, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        client.once('url', () => resolve());
        client.once('error', (error: Error) => reject(tunnelFailed(this.host, error)));
        client.open((error) => {
          if (error) reject(error);
        });
      });
    } catch (error) {
      controller.abort(error);
      client.close();
      throw error;
    } finally {
      timer.cancel();
      clearTimeout(hold);
    }
    return new OpenLocalTunnel(client, client.url!, this.logger);
  }
}

class OpenLocalTunnel extends EventEmitter<OpenTunnelEvents> implements OpenTunnel {
  private closed = false;

  constructor(
    private readonly client: LocaltunnelClient,
    readonly url: string,
    logger: Logger | undefined,
  ) {
    super();
    client.on('error', (error: Error) => {
      if (!this.closed) this.emit('error', new CallstreamError('TUNNEL_ERROR', `The tunnel ${url} failed: ${describeError(error)}.`, { cause: error }));
    });
    client.on('request', (request: { method: string; path: string }) => logger?.debug({ tunnel: url, ...request }, 'request through the tunnel'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.emit('close');
  }
}

function tunnelFailed(host: string, error: Error): CallstreamError {
  return new CallstreamError('TUNNEL_ERROR', `The localtunnel server ${host} gave a tunnel, but its sockets failed: ${error.message}.`, {
    cause: error,
    hint: 'a firewall may block the server\'s tunnel port; try again, or use --public-url with another tunnel.',
  });
}

function checkHost(host: string): string {
  let parsed: URL;
  try {
    parsed = new URL(host);
  } catch {
    throw new CallstreamError('CONFIG_ERROR', `"${host}" is not a localtunnel server URL.`, { hint: 'give an origin, e.g. --tunnel-host https://localtunnel.me.' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CallstreamError('CONFIG_ERROR', `"${host}" is not an http(s) URL.`, { hint: 'give an origin, e.g. --tunnel-host https://localtunnel.me.' });
  }
  return parsed.origin;
}
