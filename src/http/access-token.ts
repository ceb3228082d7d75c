import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';

/** The cookie a browser gets from a link carrying the access token (HttpOnly, SameSite=Lax). */
export const ACCESS_COOKIE = 'callstream_access';

/** Query parameters a link may carry the token in: read once, then redirected away. */
const LINK_PARAMETERS = ['token', 'access_token'];

/** How long the cookie a link sets lasts (seconds): a week, then the link is opened again. */
export const ACCESS_COOKIE_MAX_AGE_S = 7 * 24 * 3600;

/** What an accepted token looks like: visible ASCII (it travels in a header and in links), long enough not to be guessed. */
const TOKEN = /^[\x21-\x7e]{16,512}$/;

/** Throws a TypeError unless `token` is usable as an access token (see TOKEN). */
export function checkAccessToken(token: unknown): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || !TOKEN.test(token)) {
    throw new TypeError(
      'accessToken must be 16 to 512 visible ASCII characters, no spaces (it is sent as "Authorization: Bearer <token>" and in links); e.g. the output of `openssl rand -hex 24`.',
    );
  }
  return token;
}

/**
 * One secret that opens everything people and programs use. Programs send `Authorization: Bearer
 * <token>`; a browser opens a link carrying `?token=<token>` (or `?access_token=`) once: it gets an
 * HttpOnly, SameSite=Lax cookie and is sent on to the same URL without the token. Every comparison
 * is of SHA-256 digests in constant time, so neither the token nor its length shows in the timing.
 */
export class AccessToken {
  private readonly tokenDigest: Buffer;
  /** The cookie holds a value derived from the token, never the token itself. */
  private readonly cookieValue: string;
  private readonly cookieDigest: Buffer;

  constructor(token: string) {
    this.tokenDigest = sha256(token);
    this.cookieValue = createHmac('sha256', token).update('callstream access cookie').digest('base64url');
    this.cookieDigest = sha256(this.cookieValue);
  }

  /** True when the request carries the token: as a bearer token, or in the cookie a link set. */
  carriedBy(ctx: Context): boolean {
    const bearer = /^Bearer ([\x21-\x7e]+)$/i.exec(ctx.get('authorization'))?.[1];
    if (bearer !== undefined && this.matches(bearer)) return true;
    return cookieValues(ctx.get('cookie'), ACCESS_COOKIE).some((value) => timingSafeEqual(sha256(value), this.cookieDigest));
  }

  /**
   * Refuses (401) a request without the token. A page request (GET or HEAD, not an upgrade) whose
   * link carries the right token gets the cookie (scoped to `cookiePath`) and a 303 to its own URL
   * without the token; one carrying a wrong token is refused.
   */
  guard(cookiePath: string): Middleware {
    return async (ctx, next) => {
      const fromLink = isPageRequest(ctx) ? linkToken(ctx) : undefined;
      if (fromLink !== undefined) {
        if (!this.matches(fromLink)) return refuse(ctx);
        ctx.cookies.set(ACCESS_COOKIE, this.cookieValue, {
          path: cookiePath || '/',
          maxAge: ACCESS_COOKIE_MAX_AGE_S * 1000,
          httpOnly: true,
          sameSite: 'lax',
          secure: ctx.secure,
          overwrite: true,
          // The value is checked here, whatever keys the app signs its own cookies with.
          signed: false,
        });
        ctx.set('Cache-Control', 'no-store');
        ctx.set('Referrer-Policy', 'no-referrer');
        ctx.redirect(withoutToken(ctx.originalUrl));
        ctx.status = 303;
        return;
      }
      if (!this.carriedBy(ctx)) return refuse(ctx);
      await next();
    };
  }

  private matches(given: string): boolean {
    return timingSafeEqual(sha256(given), this.tokenDigest);
  }
}

function refuse(ctx: Context): void {
  ctx.status = 401;
  ctx.set('WWW-Authenticate', 'Bearer realm="callstream"');
  ctx.body = {
    error: 'UNAUTHORIZED',
    message: 'This server needs its access token: programs send "Authorization: Bearer <token>"; a browser opens a link ending in ?token=<token> once.',
  };
}

/** A page a browser opens (the link flow applies): GET or HEAD, and not a WebSocket upgrade. */
function isPageRequest(ctx: Context): boolean {
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.get('upgrade').toLowerCase() !== 'websocket';
}

/** The token a link carries, if any (the first of the link parameters present). */
function linkToken(ctx: Context): string | undefined {
  for (const name of LINK_PARAMETERS) {
    const value = ctx.query[name];
    if (value !== undefined) return Array.isArray(value) ? (value[0] ?? '') : value;
  }
  return undefined;
}

/** The request's own path and query without the link parameters; always a path on this host. */
function withoutToken(originalUrl: string): string {
  const url = new URL(originalUrl, 'http://callstream.invalid');
  for (const name of LINK_PARAMETERS) url.searchParams.delete(name);
  // A path starting with "//" would be read as another host.
  return `/${url.pathname.replace(/^\/+/, '')}${url.search}`;
}

/** Every value of cookie `name` in a Cookie header (a Stream mounted inside another's path may see two). */
function cookieValues(header: string, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) values.push(pair.slice(at + 1).trim());
  }
  return values;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The guard of a Stream's routes: its access token when it has one, then `authorized` (the `authorize` hook). */
export function accessGuard(token: string | undefined, authorized: Middleware, cookiePath: string): Middleware {
  if (token === undefined) return authorized;
  const tokenGuard = new AccessToken(token).guard(cookiePath);
  return (ctx, next) => tokenGuard(ctx, () => authorized(ctx, next));
}

/**
 * An `authorize` function that lets in the requests carrying `token` as a Stream's `accessToken`
 * does (`Authorization: Bearer <token>`, or the cookie its link sets), e.g. for `deskPage()`.
 */
export function accessTokenAuthorizer(token: string): (ctx: Context) => boolean {
  checkAccessToken(token);
  const access = new AccessToken(token);
  return (ctx) => access.carriedBy(ctx);
}
