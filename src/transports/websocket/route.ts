import type { Context, Middleware } from 'koa';
import type { TransportRuntime } from '../runtime.js';
import { CloseCode } from '../wire.js';
import { WebSocketConnection } from './connection.js';

/** `WS {path}/websocket/offer`: audio for programs, FastRTC's protocol. */
export function webSocketRoute(runtime: TransportRuntime): Middleware {
  return async (ctx: Context) => {
    if (!ctx.ws) {
      ctx.status = 426;
      ctx.set('Upgrade', 'websocket');
      ctx.body = 'Connect with a WebSocket: this is the audio WebSocket endpoint.';
      return;
    }
    if (!runtime.accepting) {
      ctx.status = 503;
      ctx.body = 'Shutting down.';
      return;
    }
    const ws = await ctx.ws();
    if (runtime.options.modality === 'video') {
      ws.on('error', () => {});
      ws.send(JSON.stringify({ type: 'error', message: 'This Stream serves video only; the WebSocket carries audio. Use the page (WebRTC).' }));
      ws.close(CloseCode.policyViolation, 'video only');
      return;
    }
    new WebSocketConnection(ws, runtime, ctx.ip);
  };
}
