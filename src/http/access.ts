import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { CallstreamError, isCallstreamError } from '../errors.js';
import type { Session } from '../session/session.js';

/** The header (or `secret` query parameter) that proves a client owns a session. */
export const SECRET_HEADER = 'x-callstream-secret';

/** Refuses with 401 unless the Stream's `authorize(ctx)` hook allows the request. */
export function authorizeWith(authorize: ((ctx: Context) => boolean | Promise<boolean>) | undefined): Middleware {
  return async (ctx, next) => {
    if (authorize && !(await authorize(ctx))) {
      ctx.status = 401;
      ctx.body = { error: 'UNAUTHORIZED', message: 'This deployment requires authorisation for this route.' };
      return;
    }
    await next();
  };
}

/**
 * Refuses with 401 (`WWW-Authenticate: Bearer`) unless the request carries `Authorization: Bearer
 * <token>`. Both sides are hashed before a constant-time compare, so neither the token nor its
 * length shows in the timing.
 */
export function requireBearerToken(token: string): Middleware {
  const expected = sha256(token);
  return async (ctx, next) => {
    const given = /^Bearer ([\x21-\x7e]+)$/i.exec(ctx.get('authorization'))?.[1];
    if (given === undefined || !timingSafeEqual(sha256(given), expected)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { error: 'UNAUTHORIZED', message: 'This route requires Authorization: Bearer <token>.' };
      return;
    }
    await next();
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameSecret(given: string, actual: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session id a request names (`webrtc_id`...): 400 when missing. */
export function requestedSessionId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw Object.assign(new CallstreamError('BAD_REQUEST', 'The session id (webrtc_id) is missing.'), { status: 400 });
  return id;
}

/** The secret a request carries (header `X-Callstream-Secret` or query `secret`), '' when none. */
export function requestSecret(ctx: Context): string {
  return ctx.get(SECRET_HEADER) || (typeof ctx.query.secret === 'string' ? ctx.query.secret : '');
}

/**
 * Refuses (403) unless `given` is the session's secret: client-chosen ids alone never give access.
 * Checked where the session lives, so the secret never leaves its instance.
 */
export function checkSecret(session: Session, given: unknown): void {
  if (typeof given !== 'string' || !given || !sameSecret(given, session.secret)) throw noSessionWithSecret();
}

/**
 * What a client asking about a session by id and secret hears when the id is unknown, the session
 * is gone or the secret is wrong: one answer (403, the same body), so that no answer tells whether
 * an id is live.
 */
export function noSessionWithSecret(): CallstreamError {
  return Object.assign(
    new CallstreamError('BAD_SIGNATURE', 'No live session has this id and secret (the secret goes in the X-Callstream-Secret header or the secret query parameter).'),
    { status: 403 },
  );
}

/** Answers NOT_FOUND (no session with the id) as a wrong secret is answered; anything else unchanged. */
export function hideUnknownSession(error: unknown): unknown {
  return isCallstreamError(error, 'NOT_FOUND') ? noSessionWithSecret() : error;
}
