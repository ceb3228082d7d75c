import type { Context, Middleware } from 'koa';
import { publicOrigin, webSocketOrigin } from '../../http/public-url.js';
import { refusedAsNotUpgrade, refusedWhileDraining } from '../../http/websockets.js';
import { isValidTwilioSignature } from '../../twilio/signature.js';
import type { TransportRuntime } from '../runtime.js';
import type { CallTokens } from './call-tokens.js';
import { MediaStreamConnection } from './media-stream.js';

/**
 * `WS {path}/telephone/handler`: Twilio's media stream. The upgrade is refused with 403 unless it
 * carries a valid signature of the `wss://` URL (when an auth token is configured).
 */
export function mediaStreamRoute(runtime: TransportRuntime, tokens: CallTokens): Middleware {
  return async (ctx: Context) => {
    if (refusedAsNotUpgrade(ctx, 'This is the Twilio Media Streams endpoint')) return;
    const { options } = runtime;
    if (options.twilioAuthToken) {
      const url = webSocketOrigin(publicOrigin(ctx, options.publicUrl)) + ctx.originalUrl;
      if (!isValidTwilioSignature(options.twilioAuthToken, ctx.get('x-twilio-signature') || undefined, url, {})) {
        runtime.logger.warn({ transport: 'telephone', url, remoteAddress: ctx.ip }, 'media stream refused: missing or invalid X-Twilio-Signature');
        ctx.status = 403;
        ctx.body = 'Invalid or missing X-Twilio-Signature.';
        return;
      }
    }
    if (options.modality === 'video') {
      ctx.status = 409;
      ctx.body = 'This Stream serves video only: phone calls cannot carry it.';
      return;
    }
    if (refusedWhileDraining(ctx, runtime.accepting)) return;
    const ws = await ctx.ws!();
    new MediaStreamConnection(ws, runtime, tokens, ctx.ip);
  };
}
