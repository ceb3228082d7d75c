import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import websocket from 'koa-easy-ws';
import type { Logger } from '../logger.js';
import { clientWentAway } from './errors.js';

/** Largest WebSocket message accepted (a Twilio media message is ~400 bytes). */
export const MAX_WS_PAYLOAD = 64 * 1024;

const enabled = new WeakSet<Koa>();

/**
 * Lets routes accept WebSocket upgrades (`ctx.ws()`), once per app. Messages over 64 KiB close the
 * socket (1009) and per-message compression stays off (audio does not compress).
 *
 * Koa prints every error it emits to stderr when the app has no `error` listener, and it tracks an
 * upgraded socket for as long as the call lasts: a caller whose connection resets would print a stack
 * trace. So an app without a listener gets one that logs through `logger`: clients that went away (or
 * were cut by a timeout) at debug, anything else as Koa would report it (not 404s, not exposed
 * errors), as an error.
 */
export function useWebSockets(app: Koa, logger?: Logger): void {
  if (enabled.has(app)) return;
  enabled.add(app);
  app.use(websocket('ws', { wsOptions: { maxPayload: MAX_WS_PAYLOAD, perMessageDeflate: false } }));
  if (logger && app.listenerCount('error') === 0) {
    app.on('error', (err: Error & { code?: string; status?: number; expose?: boolean }, ctx?: Koa.Context) => {
      if (clientWentAway(err)) logger.debug({ code: err.code, path: ctx?.path }, 'client connection lost');
      else if (err.status !== 404 && !err.expose) logger.error({ err, path: ctx?.path }, 'request failed');
    });
  }
}

/** A WebSocket route: a plain HTTP request is answered 426, saying what the route is. */
export function webSocketOnly(endpoint: string): Middleware {
  return async (ctx, next) => {
    if (ctx.ws) return next();
    ctx.status = 426;
    ctx.set('Upgrade', 'websocket');
    ctx.body = `${endpoint}: connect with a WebSocket.`;
  };
}

/** Answers 503 while the Stream drains for shutdown; true when it did. */
export function refusedWhileDraining(ctx: Context, accepting: boolean): boolean {
  if (accepting) return false;
  ctx.status = 503;
  ctx.body = 'Shutting down.';
  return true;
}
