import type { Middleware } from 'koa';
import { isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

const STATUS_BY_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  BAD_SIGNATURE: 403,
  NOT_FOUND: 404,
  CONCURRENCY_LIMIT: 429,
  RATE_LIMITED: 429,
  UNSUPPORTED: 400,
};

/** The HTTP status a thrown error is answered with: its own `status`, its code's, else 500. */
export function statusOf(error: unknown): number {
  const explicit = (error as { status?: number } | undefined)?.status;
  if (!isCallstreamError(error)) return 500;
  return explicit ?? STATUS_BY_CODE[error.code] ?? 500;
}

/** Turns thrown errors into clear JSON answers: 4xx for the caller's mistakes, 500 (logged) for ours. */
export function httpErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
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
