import type { Context, Middleware } from 'koa';
import { publicOrigin, webSocketOrigin } from '../../http/public-url.js';
import type { IncomingCall } from '../../options.js';
import type { TransportRuntime } from '../runtime.js';
import type { Announcement } from '../../coordination/coordination.js';
import { isCallstreamError } from '../../errors.js';
import { twilioParams } from './twilio-signature.js';
import { callMemoryMs, stillLive } from './ended-calls.js';
import { CALL_TOKEN_PARAMETER, connectTwiml, hangUpTwiml, rejectTwiml, sayAndHangUpTwiml } from './twiml.js';

/**
 * `GET|POST {path}/telephone/incoming`: Twilio's voice webhook (its signature already checked):
 * announces the call deployment-wide (a place under the concurrency limit and
 * a one-time token, the same again for a repeated webhook), and answers `<Connect><Stream>` TwiML
 * carrying the token, or `<Reject reason="busy"/>` at the limit. A CallSid announced before whose
 * stream is over gets `<Hangup/>` unless its call is still live (see `stillLive`).
 */
export function incomingCallRoute(runtime: TransportRuntime, mountPath: string): Middleware {
  return async (ctx: Context) => {
    const { options } = runtime;
    const params = twilioParams(ctx);
    const origin = publicOrigin(ctx, options.publicUrl);
    const log = runtime.logger.child({ transport: 'telephone', callSid: params.CallSid });

    ctx.type = 'text/xml';
    if (options.modality === 'video') {
      log.warn('call refused: this Stream serves video, which a phone call cannot carry');
      ctx.body = sayAndHangUpTwiml('Sorry, this service is video only. Please open it in a web browser.');
      return;
    }
    const refuse = (reason: 'busy' | 'rejected', why: string, fields: Record<string, unknown> = {}) => {
      runtime.clientFaults.warn(log, { ...fields, accepting: runtime.accepting }, `call rejected: ${why}`);
      runtime.metrics.sessionRefused('telephone', reason === 'busy' ? 'busy' : 'taken');
      ctx.body = rejectTwiml(reason);
    };
    if (!runtime.accepting) return refuse('busy', 'shutting down');
    const call = toIncomingCall(params);
    call.query = Object.fromEntries(new URLSearchParams(ctx.querystring));
    const custom = await customParameters(options.customParameters, call);
    const refuseEnded = (why: string) => {
      runtime.clientFaults.warn(log, { callStatus: params.CallStatus, why }, 'webhook refused: its call is over (a replay?)');
      runtime.metrics.sessionRefused('telephone', 'ended');
      ctx.body = hangUpTwiml();
    };
    const announce = (resume: boolean) =>
      runtime.coordination.announceCall({ callSid: call.callSid, call, parameters: custom }, options.concurrencyLimit, options.telephone.connectTimeoutMs, {
        rememberMs: callMemoryMs(options),
        resume,
      });
    let announcement: Announcement;
    try {
      // Idempotent per CallSid: a repeated webhook never takes a second place nor opens a second stream.
      announcement = await announce(false);
      if (announcement.kind === 'ended') {
        // Announced before, and over: served again only for a call still live (a redirect), never for a replay.
        const liveness = await stillLive(options, params.CallSid!, params.CallStatus);
        if (!liveness.live) return refuseEnded(liveness.why);
        log.debug({ confirmedBy: liveness.confirmedBy }, 'webhook for a call whose stream is over: the call is live (a redirect), new token');
        announcement = await announce(true);
      }
    } catch (error) {
      // Answered 503 (httpErrors): Twilio then tries the number's fallback URL, if it has one.
      if (isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) runtime.metrics.sessionRefused('telephone', 'unavailable');
      throw error;
    }
    if (announcement.kind === 'busy') return refuse('busy', 'busy (concurrency limit)', { limit: options.concurrencyLimit });
    if (announcement.kind === 'live') return refuse('rejected', 'repeated webhook for a call whose media stream is live');
    if (announcement.kind === 'ended') return refuseEnded('its call is over');
    if (announcement.kind === 'repeated') log.debug('repeated webhook: the call still waits for its stream; same token');
    const streamUrl = `${webSocketOrigin(origin)}${mountPath}/telephone/handler`;
    ctx.body = connectTwiml({
      streamUrl,
      statusCallback: `${origin}${mountPath}/telephone/status`,
      parameters: { ...custom, [CALL_TOKEN_PARAMETER]: announcement.token },
      greeting: options.telephone.greeting,
      goodbye: options.telephone.goodbye,
    });
    log.debug({ from: call.from, to: call.to, streamUrl }, 'incoming call: stream TwiML sent');
  };
}

function toIncomingCall(params: Record<string, string>): IncomingCall {
  return {
    callSid: params.CallSid,
    accountSid: params.AccountSid,
    from: params.From,
    to: params.To,
    direction: params.Direction,
    callerName: params.CallerName,
    params,
  };
}

async function customParameters(
  source: TransportRuntime['options']['customParameters'],
  call: IncomingCall,
): Promise<Record<string, string>> {
  const values = typeof source === 'function' ? await source(call) : (source ?? {});
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name === CALL_TOKEN_PARAMETER) continue;
    out[name] = String(value);
  }
  return out;
}
