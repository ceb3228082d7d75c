import type { Clock, TimerHandle } from '../clock.js';

/** What the watch needs of a session: whether anything came since it last asked, and a way to end it. */
export interface Watched {
  /** True when the client sent anything since the last call (and resets it). */
  takeHeard(): boolean;
  /** Ends the session because its client went quiet. */
  endIdle(quietMs: number): void;
}

interface Entry {
  deadlineMs: number;
  /** When the watch last saw the client active (clock ms). */
  heardAt: number;
}

/**
 * The inactivity deadline of every session, on one timer: a session whose client sends nothing for
 * its deadline is ended. Transports only set a flag per packet (`Session.heard()`); the watch looks at
 * the flags every `tickMs`, so a quiet session ends between its deadline and one tick after it, never
 * early. The timer runs only while sessions are watched.
 */
export class IdleWatch {
  private readonly entries = new Map<Watched, Entry>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    readonly tickMs: number,
  ) {}

  /** The tick for these deadlines: a tenth of the shortest, between 10 ms and 1 s. */
  static tickFor(deadlinesMs: number[]): number {
    const shortest = Math.min(...deadlinesMs.filter((ms) => ms > 0 && Number.isFinite(ms)));
    return Number.isFinite(shortest) ? Math.min(1000, Math.max(10, shortest / 10)) : 1000;
  }

  /** Starts watching `session` from now. */
  add(session: Watched, deadlineMs: number): void {
    session.takeHeard();
    this.entries.set(session, { deadlineMs, heardAt: this.clock.now() });
    this.timer ??= this.clock.after(this.tickMs, () => this.sweep());
  }

  remove(session: Watched): void {
    this.entries.delete(session);
    if (this.entries.size === 0) {
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  /** Sessions watched (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const quiet: [Watched, number][] = [];
    for (const [session, entry] of this.entries) {
      if (session.takeHeard()) entry.heardAt = now;
      else if (now - entry.heardAt >= entry.deadlineMs) quiet.push([session, now - entry.heardAt]);
    }
    // Ended after the loop: ending removes the entry.
    for (const [session, quietMs] of quiet) {
      this.entries.delete(session);
      try {
        session.endIdle(quietMs);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (this.entries.size > 0) this.timer = this.clock.after(this.tickMs, () => this.sweep());
  }
}
