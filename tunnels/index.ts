/**
 * Public tunnels and fastphone: a Stream served on your own Twilio number.
 * @module callstream/tunnels
 */
export type { OpenTunnel, OpenTunnelEvents, Tunnel, TunnelOpenOptions } from './tunnel.js';
export { LocalTunnel, type LocalTunnelOptions, PUBLIC_LOCALTUNNEL_HOST, validateSubdomain } from './localtunnel.js';
export { FixedUrlTunnel } from './fixed-url.js';
export { type Fastphone, fastphone, type FastphoneOptions, startFastphone } from './fastphone.js';
export { type PublicServer, type PublicServerOptions, servePublicly } from './public-server.js';
export { restoreFromStateFile, type RestoreOptions } from './fastphone-restore.js';
export { DEFAULT_STATE_FILE, type FastphoneState } from './fastphone-state.js';
export type { RestoreOutcome } from './registration.js';
export type { VoiceSettings } from '../src/twilio/numbers.js';
