import type { Context, Middleware } from 'koa';
import { parseStatusCallback } from '../../twilio/call-status.js';
import type { TransportRuntime } from '../runtime.js';
import type { PhoneCalls } from './phone-calls.js';
import { twilioParams } from './twilio-signature.js';

/**
 * `POST {path}/telephone/status`: Twilio's status callbacks (their signature already checked). Call status changes (`CallStatus`, `AnsweredBy`, `CallDuration`) and
 * media stream events (`StreamEvent`, `StreamError`) go to the call's session and outbound handle;
 * a call that ended on Twilio's side ends its session. Answered 204.
 */
export function statusCallbackRoute(runtime: TransportRuntime, calls: PhoneCalls): Middleware {
  return async (ctx: Context) => {
    const params = twilioParams(ctx);
    const log = runtime.logger.child({ transport: 'telephone', callSid: params.CallSid });
    log.debug({ callStatus: params.CallStatus, streamEvent: params.StreamEvent }, 'status callback');
    await calls.report(parseStatusCallback(params));
    ctx.status = 204;
  };
}
