import type { EventEmitter } from 'node:events';

/** Events of an open tunnel. */
export interface OpenTunnelEvents {
  /** The tunnel failed; it may no longer carry requests. Listen for it (an unheard `error` throws). */
  error: [error: Error];
  /** The tunnel is closed: by `close()`, or because it died. Emitted once. */
  close: [];
}

/** A public URL that reaches a local port, until closed. */
export interface OpenTunnel extends EventEmitter<OpenTunnelEvents> {
  /** The public origin, e.g. `https://abcd.loca.lt`: build public URLs from it, never from requests. */
  readonly url: string;
  /** Closes the tunnel (idempotent). */
  close(): Promise<void>;
}

export interface TunnelOpenOptions {
  /** The local interface the tunnel delivers to. Default `127.0.0.1`. */
  localHost?: string;
}

/** Something that can expose a local port publicly (localtunnel, a fixed URL, ...). */
export interface Tunnel {
  readonly name: string;
  open(port: number, options?: TunnelOpenOptions): Promise<OpenTunnel>;
}
