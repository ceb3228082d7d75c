/** Public tunnels for fastphone (`callstream/tunnels`). */
export type { OpenTunnel, OpenTunnelEvents, Tunnel } from './tunnel.js';
