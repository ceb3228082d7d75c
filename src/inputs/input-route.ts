import type { Context, Middleware } from 'koa';
import type { BusMessage } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { CallstreamError } from '../errors.js';
import { checkSecret, hideUnknownSession, requestedSessionId, requestSecret } from '../http/access.js';
import { readJson } from '../http/body.js';
import type { Session } from '../session/session.js';
import { type InputSpec, type InputValues, validateInputs } from './spec.js';

/**
 * `POST {path}/input_hook`, FastRTC's body `{webrtc_id, ...inputs}` (plus the session secret):
 * validated against the declaration (422 with reasons), then given to the session wherever it lives
 * (403 without its secret, and for an unknown id alike).
 */
export function inputHookRoute(specs: readonly InputSpec[], directory: SessionDirectory, limit: number): Middleware {
  return async (ctx: Context) => {
    const body = await readJson(ctx, limit);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new CallstreamError('BAD_REQUEST', 'The body must be a JSON object: {webrtc_id, ...inputs}.');
    }
    const { webrtc_id: id, websocket_id: wsId, ...given } = body as Record<string, unknown>;
    const answer = await setInputs(directory, requestedSessionId(id ?? wsId), given, requestSecret(ctx)).catch((error: unknown) => {
      throw hideUnknownSession(error);
    });
    if ('reasons' in answer) {
      ctx.status = 422;
      ctx.body = { error: 'INVALID_INPUTS', message: 'Some inputs were refused.', reasons: answer.reasons };
      return;
    }
    ctx.body = { status: 'success', inputs: answer.inputs };
  };
}

/** What setting inputs answers: the session's inputs, or why the values were refused. */
export type SetInputsAnswer = { inputs: InputValues } | { reasons: string[] };

/**
 * Sets a session's inputs wherever it lives. A client's request carries the session's `secret`
 * (checked first, where the session lives); server code passes none.
 */
export async function setInputs(directory: SessionDirectory, id: string, values: Record<string, unknown>, secret?: string): Promise<SetInputsAnswer> {
  const message: BusMessage = { type: 'setInputs', values };
  if (secret !== undefined) message.secret = secret;
  return (await directory.send(id, message)) as SetInputsAnswer;
}

/** Where the session lives: checks the secret (when the request came from a client), then the values against the declaration. */
export function setInputsOp(specs: readonly InputSpec[]): (session: Session, message: BusMessage) => SetInputsAnswer {
  return (session, message) => {
    if ('secret' in message) checkSecret(session, message.secret);
    const check = validateInputs(specs, (message.values ?? {}) as Record<string, unknown>);
    if (!check.ok) return { reasons: check.errors };
    session.setInputs(check.values);
    return { inputs: session.inputs };
  };
}
