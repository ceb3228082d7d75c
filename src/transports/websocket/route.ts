import type { Context, Middleware } from 'koa';
import { refusedWhileDraining } from '../../http/websockets.js';
import type { TransportRuntime } from '../runtime.js';
import { SocketWriter } from '../socket-writer.js';
import { CloseCode } from '../wire.js';
import { WebSocketConnection } from './connection.js';

/** `WS {path}/websocket/offer`: audio for programs, FastRTC's protocol. */
export function webSocketRoute(runtime: TransportRuntime): Middleware {
  return async (ctx: Context) => {
    if (refusedWhileDraining(ctx, runtime.accepting)) return;
    const ws = await ctx.ws!();
    if (runtime.options.modality === 'video') {
      ws.on('error', () => {});
      const writer = new SocketWriter(ws, runtime.logger.child({ transport: 'websocket', remoteAddress: ctx.ip }), runtime.clientFaults);
      writer.send(JSON.stringify({ type: 'error', message: 'This Stream serves video only; the WebSocket carries audio. Use the page (WebRTC).' }));
      writer.close(CloseCode.policyViolation, 'video only');
      return;
    }
    new WebSocketConnection(ws, runtime, ctx.ip);
  };
}
