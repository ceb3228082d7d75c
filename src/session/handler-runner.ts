import type { AudioFrame } from '../audio/frame.js';
import { DroppingQueue } from './async-queue.js';
import type { EmitItem } from './emit.js';
import { type AudioHandler, isSessionFunction, type PlayOptions, type SessionContext, type StreamHandler } from './handler.js';

/** What the runner needs from its session. */
export interface RunnerHooks {
  /** An item the handler produced. */
  send(item: EmitItem): void;
  /** The handler threw or rejected: the session ends. */
  fail(error: unknown, during: string): void;
  /** Resolves when there is room for more output (backpressure for generators and emit loops). */
  room(): Promise<void>;
  /** Waits one frame time (used when a pull-based emit() has nothing and no audio comes in). */
  idleWait(): Promise<void>;
  /** The handler took `ms` with one inbound frame (receive until it returned or settled). */
  handled?(ms: number): void;
}

/**
 * Drives one handler instance, whatever its shape: FastRTC's receive/emit object or a session
 * function (async generator or callbacks). Inbound frames are delivered in order; while the handler
 * is busy they wait in a bounded backlog where the oldest are dropped and counted.
 */
export class HandlerRunner {
  private readonly backlog: DroppingQueue<AudioFrame>;
  private audioQueue: DroppingQueue<AudioFrame> | undefined;
  private receiving = false;
  private ready = false;
  private stopped = false;
  private wakeEmitLoop: (() => void) | undefined;
  /** Drop count at which the next "handler too slow" warning is logged (1, 50, 100, 200, ...). */
  private warnDropsAt = 1;

  constructor(
    private readonly handler: AudioHandler,
    private readonly ctx: SessionContext,
    private readonly hooks: RunnerHooks,
    private readonly backlogFrames: number,
  ) {
    this.backlog = new DroppingQueue(backlogFrames);
  }

  /** Inbound frames dropped because the handler was too slow. */
  get droppedFrames(): number {
    return this.backlog.dropped + (this.audioQueue?.dropped ?? 0);
  }

  /** The inbound frames as an async iterable (one consumer per session). */
  audio(): AsyncIterable<AudioFrame> {
    if (this.audioQueue) throw new Error('ctx.audio() can be iterated once per session.');
    this.audioQueue = new DroppingQueue(this.backlogFrames);
    return this.audioQueue;
  }

  /** Runs startUp, then the handler's own loop. Resolves when the handler's code returns. */
  async start(): Promise<void> {
    const handler = this.handler;
    try {
      if (isSessionFunction(handler)) {
        this.ready = true;
        this.drainBacklog();
        const result = handler(this.ctx);
        if (isAsyncIterable(result) || isIterable(result)) await this.pump(result);
        else await result;
        return;
      }
      await handler.startUp?.(this.ctx);
      this.ready = true;
      this.drainBacklog();
      if (handler.emit) await this.emitLoop(handler);
    } catch (error) {
      if (!this.stopped) this.hooks.fail(error, 'handler');
    }
  }

  /** An inbound frame in the handler's format. */
  deliver(frame: AudioFrame): void {
    if (this.stopped) return;
    this.audioQueue?.push(frame);
    const receive = !isSessionFunction(this.handler) ? this.handler.receive : undefined;
    if (receive) {
      if (!this.ready || this.receiving || this.backlog.size > 0) this.backlog.push(frame);
      else this.receiveNow(frame);
    }
    if (this.droppedFrames >= this.warnDropsAt) this.warnDrops();
    this.wake();
  }

  dtmf(digit: string): void {
    if (this.stopped || isSessionFunction(this.handler) || !this.handler.onDtmf) return;
    this.guard(() => (this.handler as StreamHandler).onDtmf?.(digit, this.ctx), 'onDtmf');
  }

  /** Stops delivering and runs shutdown(). Never throws. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.backlog.close();
    this.audioQueue?.close();
    this.wake();
    if (isSessionFunction(this.handler)) return;
    try {
      await this.handler.shutdown?.(this.ctx);
    } catch (error) {
      this.ctx.log.warn({ err: error }, 'handler shutdown() threw');
    }
  }

  /** Counted warnings, doubling the interval: a handler that stays slow fills the log only logarithmically. */
  private warnDrops(): void {
    const dropped = this.droppedFrames;
    this.ctx.log.warn({ droppedInbound: dropped, backlogFrames: this.backlogFrames }, 'handler too slow: inbound frames dropped (oldest first)');
    this.warnDropsAt = Math.max(50, this.warnDropsAt * 2, dropped + 1);
  }

  /** Hot path: one inbound frame to receive(), timed; a promise marks the handler busy until it settles. */
  private receiveNow(frame: AudioFrame): void {
    const handler = this.handler as StreamHandler;
    const handled = this.hooks.handled;
    const started = handled ? performance.now() : 0;
    let result: unknown;
    try {
      result = handler.receive!(frame, this.ctx);
    } catch (error) {
      this.hooks.fail(error, 'receive');
      return;
    }
    if (!(result instanceof Promise)) {
      handled?.(performance.now() - started);
      return;
    }
    this.receiving = true;
    result.then(
      () => {
        this.receiving = false;
        handled?.(performance.now() - started);
        this.drainBacklog();
      },
      (error: unknown) => this.hooks.fail(error, 'receive'),
    );
  }

  private drainBacklog(): void {
    while (!this.stopped && !this.receiving && this.backlog.size > 0) {
      const frame = this.backlog.shift();
      if (frame) this.receiveNow(frame);
    }
  }

  /** Calls handler code other than receive(); a rejection fails the session. */
  private guard(call: () => unknown, during: string): void {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      this.hooks.fail(error, during);
      return;
    }
    if (result instanceof Promise) result.catch((error: unknown) => this.hooks.fail(error, during));
  }

  private async emitLoop(handler: StreamHandler): Promise<void> {
    while (!this.stopped) {
      const item = await handler.emit?.(this.ctx);
      if (this.stopped) return;
      if (item === undefined || item === null) {
        await Promise.race([new Promise<void>((resolve) => (this.wakeEmitLoop = resolve)), this.hooks.idleWait()]);
        continue;
      }
      this.hooks.send(item);
      await this.hooks.room();
    }
  }

  /**
   * The one send loop: items sent at playback pace until they end, the runner stops or `signal`
   * aborts. Used for generator handlers and for `ctx.play()`.
   */
  async pump(items: AsyncIterable<EmitItem> | Iterable<EmitItem>, options: PlayOptions = {}): Promise<void> {
    const { signal, onItem } = options;
    for await (const item of items) {
      if (this.stopped || signal?.aborted) return;
      onItem?.(item);
      this.hooks.send(item);
      await this.hooks.room();
      if (signal?.aborted) return;
    }
  }

  private wake(): void {
    const wake = this.wakeEmitLoop;
    this.wakeEmitLoop = undefined;
    wake?.();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<EmitItem> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isIterable(value: unknown): value is Iterable<EmitItem> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value;
}
