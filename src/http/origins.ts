import type { Context, Middleware } from 'koa';
import type { CorsOptions } from './cors.js';

/** What the origin check reads, at each request (the public URL may be set after mount). */
export interface OriginPolicy {
  /** Other origins whose pages may send state-changing requests, or `'*'` for any. */
  allowedOrigins: readonly string[] | '*';
  /** The CORS policy: origins it lets call the routes are allowed here too. */
  cors: CorsOptions | undefined;
  publicUrl: string | undefined;
}

/** Checks an `allowedOrigins` option (origins such as `https://app.example.com`, or `'*'`); returns it as origins. */
export function checkAllowedOrigins(value: unknown): string[] | '*' {
  if (value === undefined) return [];
  if (value === '*') return '*';
  if (!Array.isArray(value)) throw new TypeError(`allowedOrigins must be a list of origins ("https://app.example.com") or "*"; got ${JSON.stringify(value)}.`);
  return value.map((origin: unknown) => {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : undefined;
    } catch {
      // said below
    }
    if (!parsed || parsed.origin === 'null' || parsed.pathname !== '/' || parsed.search || parsed.hash) {
      throw new TypeError(`allowedOrigins: ${JSON.stringify(origin)} must be an origin (scheme, host, port) without a path, such as https://app.example.com.`);
    }
    return parsed.origin;
  });
}

/**
 * Refuses (403 `ORIGIN_NOT_ALLOWED`) a state-changing request (any method but GET, HEAD and OPTIONS,
 * and every WebSocket upgrade) whose `Origin` header names a page that is neither the Stream's own
 * nor allowed: a cross-site POST or upgrade riding on a browser's cookies or network position.
 * Requests without an Origin (programs, server to server) pass: the access token or `authorize` is
 * what guards those. `policy` is read at each request.
 *
 * The Stream's own origins: its public URL, and the request's own scheme and host (behind a proxy,
 * what `X-Forwarded-Proto/Host` say when the app trusts it); when the request arrived as http, its
 * https form too (a proxy terminating TLS that the app does not trust).
 */
export function checkOrigin(policy: OriginPolicy): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    if (!origin || !changesState(ctx) || allowed(origin, policy, ctx)) return next();
    ctx.status = 403;
    ctx.body = {
      error: 'ORIGIN_NOT_ALLOWED',
      message: `A page from ${JSON.stringify(origin.slice(0, 200))} may not send this request: only the server's own pages and the origins in allowedOrigins (or cors.origins) may.`,
    };
  };
}

function changesState(ctx: Context): boolean {
  const read = ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS';
  return !read || ctx.get('upgrade').toLowerCase() === 'websocket';
}

function allowed(origin: string, policy: OriginPolicy, ctx: Context): boolean {
  const { allowedOrigins, cors } = policy;
  if (allowedOrigins === '*' || cors?.origins === '*') return true;
  if (allowedOrigins.includes(origin) || cors?.origins.some((o) => sameOrigin(o, origin))) return true;
  return ownOrigins(ctx, policy.publicUrl).includes(origin);
}

/** The origins this Stream's own pages are served from, as browsers write them (lower case, no default port). */
function ownOrigins(ctx: Context, publicUrl: string | undefined): string[] {
  const own = [publicUrl, `${ctx.protocol}://${ctx.host}`, ctx.protocol === 'http' ? `https://${ctx.host}` : undefined];
  return own.flatMap((text) => {
    if (!text) return [];
    try {
      return [new URL(text).origin];
    } catch {
      return [];
    }
  });
}

function sameOrigin(configured: string, origin: string): boolean {
  try {
    return new URL(configured).origin === origin;
  } catch {
    return false;
  }
}
