import type { Context } from 'koa';

/**
 * The origin the outside world used to reach us: the configured public URL, else the request's own
 * scheme and host (Koa honours X-Forwarded-Proto/Host only when `app.proxy` is true).
 */
export function publicOrigin(ctx: Context, configured: string | undefined): string {
  return configured ?? `${ctx.protocol}://${ctx.host}`;
}

/** The same origin with a WebSocket scheme (https → wss, http → ws). */
export function webSocketOrigin(origin: string): string {
  return origin.replace(/^http/, 'ws');
}
