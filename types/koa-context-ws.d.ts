import type { WebSocket } from 'ws';

declare module 'koa' {
  interface ExtendableContext {
    /** Present on WebSocket upgrade requests: accepts the upgrade (koa-easy-ws). */
    ws?: () => Promise<WebSocket>;
  }
}
