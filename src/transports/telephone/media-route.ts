import type { Context, Middleware } from 'koa';
import { refusedWhileDraining } from '../../http/websockets.js';
import type { TransportRuntime } from '../runtime.js';
import { MediaStreamConnection } from './media-stream.js';

/**
 * `WS {path}/telephone/handler`: Twilio's media stream (the upgrade's signature of the `wss://` URL
 * already checked).
 */
export function mediaStreamRoute(runtime: TransportRuntime): Middleware {
  return async (ctx: Context) => {
    if (runtime.options.modality === 'video') {
      ctx.status = 409;
      ctx.body = 'This Stream serves video only: phone calls cannot carry it.';
      return;
    }
    if (refusedWhileDraining(ctx, runtime.accepting)) return;
    const ws = await ctx.ws!();
    new MediaStreamConnection(ws, runtime, ctx.ip);
  };
}
