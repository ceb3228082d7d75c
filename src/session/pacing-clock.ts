import type { Clock, TimerHandle } from '../clock.js';

interface Entry {
  fn: () => void;
  cancelled: boolean;
}

/**
 * One clock for the pacing of every session: deadlines are rounded up to a grid (`quantumMs`) and all
 * that fall in the same slot run from one timer, instead of a timer per session per frame. A deadline
 * runs at most `quantumMs` late, never early; transports whose far end holds a lead much longer than
 * the quantum (Twilio's 160 ms, a WebSocket client's 100 ms) lose nothing by it. `now()` and `after()`
 * are the underlying clock's.
 */
export class PacingClock implements Clock {
  private readonly slots = new Map<number, Entry[]>();
  /** Slot times with entries, kept sorted (few: deadlines are at most a lead ahead). */
  private readonly times: number[] = [];
  private armed: TimerHandle | undefined;
  private armedAt = Infinity;

  constructor(
    private readonly base: Clock,
    readonly quantumMs = 5,
  ) {}

  now(): number {
    return this.base.now();
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.at(this.base.now() + ms, fn);
  }

  at(at: number, fn: () => void): TimerHandle {
    const slot = Math.ceil(at / this.quantumMs) * this.quantumMs;
    const entry: Entry = { fn, cancelled: false };
    let entries = this.slots.get(slot);
    if (!entries) {
      entries = [];
      this.slots.set(slot, entries);
      this.insertTime(slot);
    }
    entries.push(entry);
    if (slot < this.armedAt) this.arm(slot);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Slots waiting (for tests). */
  get pendingSlots(): number {
    return this.times.length;
  }

  private insertTime(slot: number): void {
    const times = this.times;
    let i = times.length;
    while (i > 0 && times[i - 1]! > slot) i--;
    times.splice(i, 0, slot);
  }

  private arm(slot: number): void {
    this.armed?.cancel();
    this.armedAt = slot;
    this.armed = this.base.at(slot, () => this.fire());
  }

  private fire(): void {
    this.armed = undefined;
    this.armedAt = Infinity;
    const now = this.base.now();
    // Slots due now, each run whole; entries added meanwhile for a due slot join it.
    while (this.times.length > 0 && this.times[0]! <= now) {
      const slot = this.times.shift()!;
      const entries = this.slots.get(slot)!;
      this.slots.delete(slot);
      for (const entry of entries) {
        if (entry.cancelled) continue;
        try {
          entry.fn();
        } catch (error) {
          // One session's fault stays its own: the rest of the slot still runs.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
    const next = this.times[0];
    if (next !== undefined) this.arm(next);
  }
}
