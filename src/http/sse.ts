import type { Context } from 'koa';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { CallstreamError } from '../errors.js';
import { clientKey } from './rate-limit.js';

/** A server-sent-events response: `send(event, data)`, comments as keep-alive, `end()`. */
export interface EventStream {
  send(event: string, data: unknown): void;
  /** Ends the stream (after an `end` event when given a reason). */
  end(reason?: string): void;
  /** Called once when the client goes away or the stream ends (at once if it has). */
  onClose(listener: () => void): void;
}

/** How one stream is opened. */
export interface EventStreamOptions {
  /** Ends the stream (`event: end` with the signal's reason, when a string) once it aborts: its viewer's access expired, its subject is gone. */
  signal?: AbortSignal;
  /** Called with every keep-alive (e.g. to check that what the stream follows still exists). */
  heartbeat?: () => void;
  /** The first comment line (what the stream is). */
  name?: string;
}

/** Bounds of the server-sent event streams of a Stream (its `/outputs` and its pages' feeds). */
export interface EventStreamLimits {
  /** Streams open at once on this instance; past it 503. Default 1000. */
  total?: number;
  /** Streams one client (an IPv4 address, an IPv6 /64) holds at once; past it 429. Default 16. */
  perClient?: number;
  /** Streams one client holds on one subject (a session's outputs, the desk's queue); past it 429. Default 4. */
  perSubject?: number;
  /** How often a comment keeps a quiet stream alive (ms). Default 15000. */
  keepAliveMs?: number;
}

/** Unsent bytes a stream may hold for a client that does not read; past it the client is dropped. */
export const MAX_UNSENT_EVENT_BYTES = 1024 * 1024;

/**
 * The server-sent event streams of one Stream: each is counted per client (after proxy trust: Koa's
 * `ctx.ip`), per client and subject, and in all, and a stream past a bound is refused with a clear
 * status before it opens. `closeAll()` ends them at shutdown. Pages a Stream serves (`addPage()`) find
 * it with `eventStreamsOf(ctx)`.
 */
export class EventStreams {
  readonly limits: Required<EventStreamLimits>;
  private readonly open = new Set<EventStream>();
  private readonly byClient = new Map<string, number>();
  private readonly bySubject = new Map<string, number>();

  constructor(
    limits: EventStreamLimits = {},
    private readonly clock?: Clock,
    /** Told of each refusal (the Stream logs it as a rate-limited warning). */
    private readonly onRefused?: (fields: Record<string, unknown>, message: string) => void,
  ) {
    this.limits = { total: 1000, perClient: 16, perSubject: 4, keepAliveMs: 15_000, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`eventStreams.${name} must be a positive integer; got ${String(value)}.`);
    }
  }

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Opens an event stream for the request, counted against `subject` (e.g. `outputs:<id>`). Throws
   * CallstreamError CONNECTION_LIMIT (429 for one client's bounds, 503 for the instance's) when a
   * bound is reached; nothing is written then.
   */
  openFor(ctx: Context, subject: string, options: EventStreamOptions = {}): EventStream {
    const client = clientKey(ctx.ip);
    const onSubject = `${client} ${subject}`;
    const refuse = (status: 429 | 503, bound: string, message: string) => {
      this.onRefused?.({ client, bound }, 'event stream refused: a bound is reached');
      return refusal(ctx, status, message);
    };
    if (this.open.size >= this.limits.total) {
      throw refuse(503, 'total', `This server holds ${this.limits.total} event streams, its most: try again later.`);
    }
    if ((this.byClient.get(client) ?? 0) >= this.limits.perClient) {
      throw refuse(429, 'perClient', `This address holds ${this.limits.perClient} event streams already, its most: close one first.`);
    }
    if ((this.bySubject.get(onSubject) ?? 0) >= this.limits.perSubject) {
      throw refuse(429, 'perSubject', `This address follows this already on ${this.limits.perSubject} event streams, its most: close one first.`);
    }
    const stream = openEventStream(ctx, { keepAliveMs: this.limits.keepAliveMs, clock: this.clock, ...options });
    this.open.add(stream);
    bump(this.byClient, client, 1);
    bump(this.bySubject, onSubject, 1);
    stream.onClose(() => {
      this.open.delete(stream);
      bump(this.byClient, client, -1);
      bump(this.bySubject, onSubject, -1);
    });
    return stream;
  }

  /** Ends every open stream with `event: end` and `reason` (shutdown). */
  closeAll(reason: string): void {
    for (const stream of [...this.open]) stream.end(reason);
  }
}

/** Where a Stream's routes leave its event streams for the pages it serves. */
const STATE_KEY = 'callstreamEventStreams';

/** @internal Leaves `streams` for the middleware after this one (the Stream's page routes do). */
export function provideEventStreams(ctx: Context, streams: EventStreams): void {
  (ctx.state as Record<string, unknown>)[STATE_KEY] = streams;
}

/**
 * The event streams of the Stream serving this request, for a page added with `stream.addPage()`:
 * a feed opened with `eventStreamsOf(ctx)?.openFor(ctx, subject)` is bounded per client and in all,
 * and ended at shutdown. Undefined when the request did not come through a Stream's page route.
 */
export function eventStreamsOf(ctx: Context): EventStreams | undefined {
  const streams = (ctx.state as Record<string, unknown>)[STATE_KEY];
  return streams instanceof EventStreams ? streams : undefined;
}

function refusal(ctx: Context, status: 429 | 503, message: string): CallstreamError {
  ctx.set('Retry-After', status === 503 ? '10' : '5');
  return Object.assign(new CallstreamError('CONNECTION_LIMIT', message), { status });
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

/**
 * Turns the response into an SSE stream (text/event-stream, no buffering, a keep-alive comment every
 * `keepAliveMs`, 15 s by default). It writes to the raw response (Koa steps aside), so a client
 * leaving is a normal end, not an error. A client that leaves more than MAX_UNSENT_EVENT_BYTES
 * unread is dropped. Prefer `EventStreams.openFor()`, which bounds how many are open.
 */
export function openEventStream(ctx: Context, options: EventStreamOptions & { keepAliveMs?: number; clock?: Clock } = {}): EventStream {
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
  const closeListeners: (() => void)[] = [];
  let closed = false;
  let keepAlive: TimerHandle | undefined;
  const write = (text: string) => {
    if (closed) return;
    res.write(text);
    if (res.writableLength > MAX_UNSENT_EVENT_BYTES) {
      res.destroy();
      close();
    }
  };
  const beat = () => {
    keepAlive = (options.clock ?? systemClock).after(options.keepAliveMs ?? 15_000, () => {
      if (closed) return;
      write(': keep-alive\n\n');
      options.heartbeat?.();
      beat();
    });
  };
  const close = () => {
    if (closed) return;
    closed = true;
    keepAlive?.cancel();
    options.signal?.removeEventListener('abort', onAbort);
    for (const listener of closeListeners) listener();
  };
  const stream: EventStream = {
    send(event, data) {
      write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end(reason) {
      if (closed) return;
      if (reason !== undefined) stream.send('end', { reason });
      res.end();
      close();
    },
    onClose(listener) {
      if (closed) listener();
      else closeListeners.push(listener);
    },
  };
  const onAbort = () => stream.end(typeof options.signal?.reason === 'string' ? options.signal.reason : 'closed');
  res.on('close', close);
  res.on('error', close);
  write(`: ${options.name ?? 'callstream events'}\n\n`);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  beat();
  return stream;
}

