import type { Context, Middleware } from 'koa';
import { CallstreamError } from '../errors.js';
import { sessionForRequest } from '../http/access.js';
import { readJson } from '../http/body.js';
import type { Session } from '../session/session.js';
import { type InputSpec, validateInputs } from './spec.js';

/**
 * `POST {path}/input_hook`, FastRTC's body `{webrtc_id, ...inputs}` (plus the session secret):
 * validated against the declaration (422 with reasons), then given to the session.
 */
export function inputHookRoute(specs: readonly InputSpec[], find: (id: string) => Session | undefined, limit: number): Middleware {
  return async (ctx: Context) => {
    const body = await readJson(ctx, limit);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new CallstreamError('BAD_REQUEST', 'The body must be a JSON object: {webrtc_id, ...inputs}.');
    }
    const { webrtc_id: id, websocket_id: wsId, ...given } = body as Record<string, unknown>;
    const session = sessionForRequest(ctx, id ?? wsId, find);
    const check = validateInputs(specs, given);
    if (!check.ok) {
      ctx.status = 422;
      ctx.body = { error: 'INVALID_INPUTS', message: 'Some inputs were refused.', reasons: check.errors };
      return;
    }
    session.setInputs(check.values);
    ctx.body = { status: 'success', inputs: session.inputs };
  };
}
