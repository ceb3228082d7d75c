import type { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Clock } from '../src/clock.js';
import { CallstreamError, describeError } from '../src/errors.js';

/**
 * The `localtunnel` npm client (2.0.2), with its first step made finite.
 *
 * The client first asks the server for a tunnel (`GET {host}/?new` or `GET {host}/{subdomain}`) in
 * a loop that retries every second, forever, whatever the failure: server down, subdomain refused
 * (403), outage (503). That loop lives in a closure nothing can stop, so its promise never settles
 * and its timer keeps the process alive. Here that one step (`_init`) is an abortable request:
 * refusals fail at once with the server's message, network failures and 5xx are retried until the
 * caller aborts. Everything after it (the TCP sockets to the server, piping them to the local
 * port, reopening dead ones, the Host rewrite) is the client's own code.
 */

/** What a localtunnel server answers to a tunnel request. */
export interface TunnelAssignment {
  id: string;
  url: string;
  port: number;
  max_conn_count?: number;
  ip?: string;
}

export interface ClientOptions {
  port: number;
  host: string;
  subdomain?: string;
  local_host?: string;
}

/** The parts of the client's Tunnel class used here (lib/Tunnel.js). */
interface ClientTunnel extends EventEmitter {
  url?: string;
  closed: boolean;
  open(callback: (error?: Error) => void): void;
  close(): void;
  _getInfo(body: TunnelAssignment): unknown;
  _init(callback: (error: Error | null, info?: unknown) => void): void;
}

/** The client's tunnel, asking for its tunnel through `requestTunnel` instead of its endless loop. */
export type LocaltunnelClient = ClientTunnel;

let clientClass: (new (options: ClientOptions, requestTunnel: () => Promise<TunnelAssignment>) => ClientTunnel) | undefined;

/** A client (not yet open). The package (and its axios) is loaded on first use only. */
export function createLocaltunnelClient(options: ClientOptions, requestTunnel: () => Promise<TunnelAssignment>): LocaltunnelClient {
  clientClass ??= defineClientClass();
  return new clientClass(options, requestTunnel);
}

function defineClientClass() {
  const require = createRequire(import.meta.url);
  const ClientTunnelClass = require('localtunnel/lib/Tunnel.js') as new (options: ClientOptions) => ClientTunnel;
  return class BoundedClient extends ClientTunnelClass {
    constructor(
      options: ClientOptions,
      private readonly requestTunnel: () => Promise<TunnelAssignment>,
    ) {
      super(options);
    }

    override _init(callback: (error: Error | null, info?: unknown) => void): void {
      this.requestTunnel().then(
        (assignment) => callback(null, this._getInfo(assignment)),
        (error: Error) => callback(error),
      );
    }
  };
}

export interface TunnelRequest {
  host: string;
  subdomain?: string;
  signal: AbortSignal;
  clock: Clock;
  /** Told each failure that will be retried (for the timeout's message). */
  onRetry(problem: string): void;
  retryMs?: number;
}

/**
 * Asks a localtunnel server for a tunnel, as the client does: retries network failures and 5xx
 * every `retryMs` (1 s) until `signal` aborts; any other refusal fails at once with its message.
 */
export async function requestTunnel(request: TunnelRequest): Promise<TunnelAssignment> {
  const uri = `${request.host}/${request.subdomain ?? '?new'}`;
  for (;;) {
    request.signal.throwIfAborted();
    let response: { status: number; statusText: string; body: Record<string, unknown> | undefined } | undefined;
    try {
      response = await getJson(uri, request.signal);
    } catch (error) {
      request.signal.throwIfAborted();
      request.onRetry(describeError(error));
    }
    if (response) {
      const { status, body } = response;
      const ok = status >= 200 && status < 300;
      if (ok && isAssignment(body)) return body;
      const message = typeof body?.message === 'string' ? body.message : ok ? 'not a localtunnel answer' : response.statusText;
      if (status < 500) {
        throw new CallstreamError('TUNNEL_ERROR', `The localtunnel server ${request.host} refused the tunnel: ${message} (HTTP ${status}).`, {
          hint: request.subdomain ? 'the subdomain may be taken or not allowed: try another one, or none.' : 'check --tunnel-host: it must be a localtunnel server.',
        });
      }
      request.onRetry(`HTTP ${status} ${message}`);
    }
    await sleep(request.clock, request.retryMs ?? 1000, request.signal);
  }
}

/**
 * One GET on its own connection (no keep-alive pool: nothing outlives the request), destroyed when
 * `signal` aborts.
 */
function getJson(uri: string, signal: AbortSignal): Promise<{ status: number; statusText: string; body: Record<string, unknown> | undefined }> {
  const get = uri.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(uri, { agent: false, signal, headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        let body: Record<string, unknown> | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body });
      });
    });
    req.on('error', reject);
  });
}

function isAssignment(body: Record<string, unknown> | undefined): body is Record<string, unknown> & TunnelAssignment {
  return typeof body === 'object' && body !== null && typeof body.url === 'string' && typeof body.port === 'number' && typeof body.id === 'string';
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = clock.after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
