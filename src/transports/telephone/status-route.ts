import type { Context, Middleware } from 'koa';
import { CallstreamError } from '../../errors.js';
import { readForm } from '../../http/body.js';
import { publicOrigin } from '../../http/public-url.js';
import { parseStatusCallback } from '../../twilio/call-status.js';
import type { TransportRuntime } from '../runtime.js';
import type { PhoneCalls } from './phone-calls.js';
import { signedByTwilio } from './signed-by-twilio.js';

/**
 * `POST {path}/telephone/status`: Twilio's status callbacks, signature-checked like the voice
 * webhook (403 otherwise). Call status changes (`CallStatus`, `AnsweredBy`, `CallDuration`) and
 * media stream events (`StreamEvent`, `StreamError`) go to the call's session and outbound handle;
 * a call that ended on Twilio's side ends its session. Answered 204.
 */
export function statusCallbackRoute(runtime: TransportRuntime, calls: PhoneCalls): Middleware {
  return async (ctx: Context) => {
    const { options } = runtime;
    const params = await readForm(ctx, options.maxBodyBytes);
    const log = runtime.logger.child({ transport: 'telephone', callSid: params.CallSid });
    const url = publicOrigin(ctx, options.publicUrl) + ctx.originalUrl;
    if (!signedByTwilio(runtime, ctx, url, params, log, 'status callback refused: missing or invalid X-Twilio-Signature')) {
      throw new CallstreamError('BAD_SIGNATURE', 'Invalid or missing X-Twilio-Signature.');
    }
    log.debug({ callStatus: params.CallStatus, streamEvent: params.StreamEvent }, 'status callback');
    await calls.report(parseStatusCallback(params));
    ctx.status = 204;
  };
}
