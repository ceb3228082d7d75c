import type { Context } from 'koa';

/** A server-sent-events response: `send(event, data)`, comments as keep-alive, `end()`. */
export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Called once when the client goes away or the stream ends. */
  onClose(listener: () => void): void;
}

/**
 * Turns the response into an SSE stream (text/event-stream, no buffering, keep-alive every 15 s).
 * It writes to the raw response (Koa steps aside), so a client leaving is a normal end, not an error.
 */
export function openEventStream(ctx: Context, keepAliveMs = 15_000): EventStream {
  const res = ctx.res;
  ctx.respond = false;
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write(': callstream outputs\n\n');
  const closeListeners: (() => void)[] = [];
  let closed = false;
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
  keepAlive.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const listener of closeListeners) listener();
  };
  res.on('close', close);
  res.on('error', close);
  return {
    send(event, data) {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (closed) return;
      res.end();
      close();
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
  };
}
