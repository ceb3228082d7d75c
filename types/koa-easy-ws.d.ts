// koa-easy-ws ships a declaration file that does not compile; this is the part callstream uses.
declare module 'koa-easy-ws' {
  import type { Middleware } from 'koa';
  import type { ServerOptions, WebSocketServer } from 'ws';

  interface WebSocketMiddlewareOptions {
    wsOptions?: ServerOptions;
    exposeServerOn?: string;
  }

  type WebSocketMiddleware = Middleware & { server: WebSocketServer };

  function websocket(propertyName?: string, options?: WebSocketMiddlewareOptions): WebSocketMiddleware;
  export default websocket;
}
