import type { Context, Middleware } from 'koa';
import { refusedWhileDraining } from '../../http/websockets.js';
import type { TransportRuntime } from '../runtime.js';
import { SocketWriter } from '../socket-writer.js';
import { CloseCode } from '../wire.js';
import { RealtimeConnection } from './connection.js';
import { errorObject } from './server-events.js';

/**
 * `WS {path}/v1/realtime`: OpenAI's Realtime protocol with callstream as the server, so Realtime
 * clients talk to the Stream's handler. Clients that send `OpenAI-Beta: realtime=v1` get the beta
 * event names until a `session.update` says otherwise.
 */
export function realtimeRoute(runtime: TransportRuntime): Middleware {
  return async (ctx: Context) => {
    if (refusedWhileDraining(ctx, runtime.accepting)) return;
    const beta = /realtime=v1/i.test(ctx.get('openai-beta'));
    const ws = await ctx.ws!();
    if (runtime.options.modality === 'video') {
      ws.on('error', () => {});
      const writer = new SocketWriter(ws, runtime.logger.child({ transport: 'websocket', remoteAddress: ctx.ip }), runtime.clientFaults);
      const message = 'This Stream serves video only; the Realtime protocol carries audio. Use the page (WebRTC).';
      writer.send(JSON.stringify({ type: 'error', event_id: 'event_video_only', error: errorObject({ type: 'invalid_request_error', code: 'unsupported', message }) }));
      writer.close(CloseCode.policyViolation, 'video only');
      return;
    }
    new RealtimeConnection(ws, runtime, ctx.ip, beta ? 'beta' : 'ga');
  };
}
