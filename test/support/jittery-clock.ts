import type { Clock, ManualClock, TimerHandle } from '../../src/clock.js';

/**
 * A manual clock whose timers fire late like a busy event loop: 0-4 ms usually, 30 ms 1 % of the
 * time (a seeded generator, so a run repeats). Used by the pacing and rooms drift checks.
 */
export class JitteryClock implements Clock {
  constructor(
    readonly inner: ManualClock,
    private seed = 7,
  ) {}

  now(): number {
    return this.inner.now();
  }

  at(at: number, fn: () => void): TimerHandle {
    return this.inner.at(at + this.jitter(), fn);
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.inner.after(ms + this.jitter(), fn);
  }

  private jitter(): number {
    this.seed = (this.seed * 1103515245 + 12345) >>> 0;
    const r = this.seed / 2 ** 32;
    return r < 0.01 ? 30 : r * 4;
  }
}
