/**
 * Time, injectable. Pacing and limits read the clock through this interface so that tests can drive
 * time exactly (ManualClock) instead of sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  /** Calls `fn` once when `now()` reaches `at` (absolute, same scale as now()). */
  at(at: number, fn: () => void): TimerHandle;
  /** Calls `fn` once after `ms` milliseconds. */
  after(ms: number, fn: () => void): TimerHandle;
}

/** The real clock: performance.now() and Node timers. Timers never keep the process alive alone. */
export const systemClock: Clock = {
  now: () => performance.now(),
  at(at, fn) {
    return systemClock.after(at - performance.now(), fn);
  },
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to: `advance(ms)` fires due timers in time order. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  at(at: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { at: Math.max(at, this.current), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.at(this.current + Math.max(0, ms), fn);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order, at its own time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.current = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** Moves time forward without firing timers, as a blocked event loop would; `advance(0)` then fires them late. */
  stall(ms: number): void {
    this.current += ms;
  }

  /** Number of timers still waiting. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(end: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
