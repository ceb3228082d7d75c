import type { Middleware } from 'koa';
import { CallstreamError } from '../errors.js';

/**
 * Refuses a request that would open a session (an offer, a WebSocket upgrade) while the coordination
 * store is known to be away (`healthy()` false): 503 COORDINATION_UNAVAILABLE through `httpErrors`,
 * before any socket is upgraded or session made; `refused` counts it. A store that fails during the
 * request is still refused by the session's admission.
 */
export function refuseWhileUnavailable(healthy: () => boolean, refused: () => void): Middleware {
  return async (_ctx, next) => {
    if (!healthy()) {
      refused();
      throw new CallstreamError('COORDINATION_UNAVAILABLE', 'The coordination store is unavailable.');
    }
    await next();
  };
}
