import { EventEmitter } from 'node:events';
import { CallstreamError } from '../src/errors.js';
import { normalizePublicUrl } from '../src/options.js';
import type { OpenTunnel, OpenTunnelEvents, Tunnel } from './tunnel.js';

/**
 * A public URL that already reaches the local server (a deployment, a reverse proxy, ngrok or
 * cloudflared run by hand): nothing is opened, the URL is only handed on.
 */
export class FixedUrlTunnel implements Tunnel {
  readonly name = 'public-url';
  /** The origin (scheme, host, port). */
  readonly url: string;

  constructor(url: string) {
    try {
      this.url = normalizePublicUrl(url)!;
    } catch (error) {
      throw new CallstreamError('CONFIG_ERROR', (error as Error).message, {
        hint: 'give the origin that reaches this server, e.g. --public-url https://voice.example.com.',
      });
    }
    if (!this.url) throw new CallstreamError('CONFIG_ERROR', 'The public URL is empty.', { hint: 'give an origin such as https://voice.example.com.' });
  }

  async open(): Promise<OpenTunnel> {
    return new FixedUrl(this.url);
  }
}

class FixedUrl extends EventEmitter<OpenTunnelEvents> implements OpenTunnel {
  private closed = false;

  constructor(readonly url: string) {
    super();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}
