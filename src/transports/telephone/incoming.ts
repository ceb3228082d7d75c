import type { Context, Middleware } from 'koa';
import { readForm } from '../../http/body.js';
import { publicOrigin, webSocketOrigin } from '../../http/public-url.js';
import type { IncomingCall } from '../../options.js';
import type { TransportRuntime } from '../runtime.js';
import type { CallTokens } from './call-tokens.js';
import { signedByTwilio } from './signed-by-twilio.js';
import { CALL_TOKEN_PARAMETER, connectTwiml, rejectTwiml, sayAndHangUpTwiml } from './twiml.js';

/**
 * `GET|POST {path}/telephone/incoming`: Twilio's voice webhook. Checks the signature (when an auth
 * token is configured), reserves a place under the concurrency limit, and answers `<Connect><Stream>`
 * TwiML carrying a one-time token, or `<Reject reason="busy"/>` at the limit.
 */
export function incomingCallRoute(runtime: TransportRuntime, tokens: CallTokens, mountPath: string): Middleware {
  return async (ctx: Context) => {
    const { options } = runtime;
    const params = ctx.method === 'POST' ? await readForm(ctx, options.maxBodyBytes) : queryParams(ctx);
    const origin = publicOrigin(ctx, options.publicUrl);
    const log = runtime.logger.child({ transport: 'telephone', callSid: params.CallSid });

    const signed = ctx.method === 'POST' ? params : {};
    if (!signedByTwilio(runtime, ctx, origin + ctx.originalUrl, signed, log, 'webhook refused: missing or invalid X-Twilio-Signature')) {
      ctx.status = 403;
      ctx.body = 'Invalid or missing X-Twilio-Signature.';
      return;
    }

    ctx.type = 'text/xml';
    if (options.modality === 'video') {
      log.warn('call refused: this Stream serves video, which a phone call cannot carry');
      ctx.body = sayAndHangUpTwiml('Sorry, this service is video only. Please open it in a web browser.');
      return;
    }
    const streamUrl = `${webSocketOrigin(origin)}${mountPath}/telephone/handler`;
    const answer = (token: string, custom: Record<string, string>) =>
      connectTwiml({
        streamUrl,
        statusCallback: `${origin}${mountPath}/telephone/status`,
        parameters: { ...custom, [CALL_TOKEN_PARAMETER]: token },
        greeting: options.telephone.greeting,
        goodbye: options.telephone.goodbye,
      });
    // Idempotent per CallSid: a repeated webhook never takes a second place nor opens a second stream.
    const waiting = tokens.waitingFor(params.CallSid);
    if (waiting) {
      log.debug('repeated webhook: the call still waits for its stream; same token');
      ctx.body = answer(waiting.token, waiting.call.parameters);
      return;
    }
    if (params.CallSid && runtime.hasLiveCall(params.CallSid)) {
      log.warn('repeated webhook refused: this call already has a live media stream');
      ctx.body = rejectTwiml('rejected');
      return;
    }
    const slot = runtime.accepting ? runtime.registry.reserve('telephone') : undefined;
    if (!slot) {
      runtime.clientFaults.warn(log, { limit: options.concurrencyLimit, accepting: runtime.accepting }, 'call rejected: busy (concurrency limit or shutting down)');
      ctx.body = rejectTwiml('busy');
      return;
    }
    const call = toIncomingCall(params);
    let custom: Record<string, string>;
    try {
      custom = await customParameters(options.customParameters, call);
    } catch (error) {
      slot.release();
      throw error;
    }
    ctx.body = answer(tokens.issue({ call, slot, parameters: custom }), custom);
    log.debug({ from: call.from, to: call.to, streamUrl }, 'incoming call: stream TwiML sent');
  };
}

function queryParams(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(ctx.querystring)) out[key] = value;
  return out;
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
