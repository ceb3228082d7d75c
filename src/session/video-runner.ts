import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { isVideoFrame, type VideoFrame } from '../video/frame.js';
import type { EmitItem } from './emit.js';
import type { SessionContext, StreamHandler } from './handler.js';

export interface VideoRunnerHooks {
  /** A frame the handler returned. */
  sendVideo(frame: VideoFrame): void;
  /** Anything else it returned (outputs, CloseStream). */
  send(item: EmitItem): void;
  fail(error: unknown, during: string): void;
}

/**
 * Runs a handler's video methods in real time: one frame at a time, never a queue. A frame arriving
 * while the handler is busy waits in a single slot, replacing (and counting as dropped) any frame
 * already waiting there.
 */
export class VideoRunner {
  private busy = false;
  private waiting: VideoFrame | undefined;
  private stopped = false;
  private lastWarning = -Infinity;
  received = 0;
  processed = 0;
  dropped = 0;
  /** Handler time per frame, smoothed (ms). */
  handlerMs = 0;

  constructor(
    private readonly handler: StreamHandler,
    private readonly ctx: SessionContext,
    private readonly hooks: VideoRunnerHooks,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  receive(frame: VideoFrame): void {
    if (this.stopped) return;
    this.received++;
    if (this.busy) {
      if (this.waiting) this.drop();
      this.waiting = frame;
      return;
    }
    void this.run(frame);
  }

  stop(): void {
    this.stopped = true;
    this.waiting = undefined;
  }

  private async run(first: VideoFrame): Promise<void> {
    this.busy = true;
    let frame: VideoFrame | undefined = first;
    while (frame && !this.stopped) {
      const started = this.clock.now();
      try {
        await this.handler.videoReceive?.(frame, this.ctx);
        const out = await this.handler.videoEmit?.(this.ctx);
        if (this.stopped) break;
        if (isVideoFrame(out)) this.hooks.sendVideo(out);
        else if (out !== undefined && out !== null) this.hooks.send(out as EmitItem);
      } catch (error) {
        this.hooks.fail(error, 'video');
        break;
      }
      const took = this.clock.now() - started;
      this.handlerMs = this.processed === 0 ? took : this.handlerMs * 0.9 + took * 0.1;
      this.processed++;
      frame = this.waiting;
      this.waiting = undefined;
    }
    this.busy = false;
  }

  private drop(): void {
    this.dropped++;
    const now = this.clock.now();
    if (now - this.lastWarning >= 5000) {
      this.lastWarning = now;
      this.log.warn(
        { dropped: this.dropped, received: this.received, handlerMs: Math.round(this.handlerMs * 10) / 10 },
        'video handler slower than the camera: dropping old frames',
      );
    }
  }
}
