import type Koa from 'koa';
import websocket from 'koa-easy-ws';

/** Largest WebSocket message accepted (a Twilio media message is ~400 bytes). */
export const MAX_WS_PAYLOAD = 64 * 1024;

const enabled = new WeakSet<Koa>();

/**
 * Lets routes accept WebSocket upgrades (`ctx.ws()`), once per app. Messages over 64 KiB close the
 * socket (1009) and per-message compression stays off (audio does not compress).
 */
export function useWebSockets(app: Koa): void {
  if (enabled.has(app)) return;
  enabled.add(app);
  app.use(websocket('ws', { wsOptions: { maxPayload: MAX_WS_PAYLOAD, perMessageDeflate: false } }));
}
