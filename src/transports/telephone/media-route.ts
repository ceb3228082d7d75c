import type { Context, Middleware } from 'koa';
import { publicOrigin, webSocketOrigin } from '../../http/public-url.js';
import { refusedAsNotUpgrade, refusedWhileDraining } from '../../http/websockets.js';
import type { TransportRuntime } from '../runtime.js';
import { MediaStreamConnection } from './media-stream.js';
import { signedByTwilio } from './signed-by-twilio.js';

/**
 * `WS {path}/telephone/handler`: Twilio's media stream. The upgrade is refused with 403 unless it
 * carries a valid signature of the `wss://` URL (when an auth token is configured).
 */
export function mediaStreamRoute(runtime: TransportRuntime): Middleware {
  return async (ctx: Context) => {
    if (refusedAsNotUpgrade(ctx, 'This is the Twilio Media Streams endpoint')) return;
    const { options } = runtime;
    const url = webSocketOrigin(publicOrigin(ctx, options.publicUrl)) + ctx.originalUrl;
    const log = runtime.logger.child({ transport: 'telephone' });
    if (!signedByTwilio(runtime, ctx, url, {}, log, 'media stream refused: missing or invalid X-Twilio-Signature')) {
      ctx.status = 403;
      ctx.body = 'Invalid or missing X-Twilio-Signature.';
      return;
    }
    if (options.modality === 'video') {
      ctx.status = 409;
      ctx.body = 'This Stream serves video only: phone calls cannot carry it.';
      return;
    }
    if (refusedWhileDraining(ctx, runtime.accepting)) return;
    const ws = await ctx.ws!();
    new MediaStreamConnection(ws, runtime, ctx.ip);
  };
}
