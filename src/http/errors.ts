import type { Middleware } from 'koa';
import { isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

const STATUS_BY_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 403,
  NOT_FOUND: 404,
  CONCURRENCY_LIMIT: 429,
  COORDINATION_UNAVAILABLE: 503,
  CONNECTION_LIMIT: 429,
  RATE_LIMITED: 429,
  UNSUPPORTED: 400,
};

/**
 * What a client is told while the coordination store is away: a stable code and this sentence, never
 * the store's address or its error (those are the operator's, in the log).
 */
export const UNAVAILABLE_ANSWER = {
  error: 'COORDINATION_UNAVAILABLE',
  message: 'The service cannot take this request now: its shared state does not answer. Try again shortly.',
} as const;

/** Seconds a client is asked to wait before trying again while the coordination store is away. */
const UNAVAILABLE_RETRY_AFTER_S = 5;

/** The HTTP status a thrown error is answered with: its own `status`, its code's, else 500. */
export function statusOf(error: unknown): number {
  const explicit = (error as { status?: number } | undefined)?.status;
  if (!isCallstreamError(error)) return 500;
  return explicit ?? STATUS_BY_CODE[error.code] ?? 500;
}

/**
 * Network errors that mean the client went away (a reset, a broken pipe) or was cut for being too slow
 * (Node's request timeout, which answers 408 itself): the client's doing, not a fault of the server.
 */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP_REQUEST_TIMEOUT']);

/** True for an error that only says the client's connection is gone (see CLIENT_GONE). */
export function clientWentAway(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CLIENT_GONE.has(code);
}

/**
 * Turns thrown errors into clear JSON answers: 4xx for the caller's mistakes (logged at debug), 500
 * (logged as an error, with its stack) for ours. A client that went away gets no answer and a debug line.
 * A coordination store out of reach is 503 with UNAVAILABLE_ANSWER and Retry-After, at debug: the
 * coordination says the outage once itself.
 */
export function httpErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (clientWentAway(error)) {
        logger.debug({ code: (error as { code: string }).code, path: ctx.path }, 'request cut: the client went away or was too slow');
        return;
      }
      if (isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) {
        ctx.status = 503;
        ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
        ctx.body = { ...UNAVAILABLE_ANSWER };
        logger.debug({ path: ctx.path, reason: error.message }, 'request refused: the coordination store is unavailable');
        return;
      }
      if (isCallstreamError(error)) {
        ctx.status = statusOf(error);
        ctx.body = { error: error.code, message: error.message };
      } else {
        ctx.status = 500;
        ctx.body = { error: 'INTERNAL', message: 'Internal error; see the server log.' };
      }
      if (ctx.status >= 500) logger.error({ err: error, path: ctx.path }, 'request failed');
      else logger.debug({ status: ctx.status, path: ctx.path, message: (error as Error).message }, 'request refused');
    }
  };
}
