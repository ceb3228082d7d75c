import type { EventEmitter } from 'node:events';

/** Events of an open tunnel. */
export interface OpenTunnelEvents {
  error: [error: Error];
  close: [];
}

/** A public URL that reaches a local port, until closed. */
export interface OpenTunnel extends EventEmitter<OpenTunnelEvents> {
  /** The public origin, e.g. `https://abcd.loca.lt`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Something that can expose a local port publicly (localtunnel, a fixed URL, ...). */
export interface Tunnel {
  readonly name: string;
  open(port: number): Promise<OpenTunnel>;
}
