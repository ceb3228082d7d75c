import type { Clock, TimerHandle } from '../clock.js';
import type { TransportKind } from './types.js';

/** A place held under the concurrency limit, by a live session or by a call about to connect. */
export interface Slot {
  readonly transport: TransportKind;
  /** Frees the place (idempotent). */
  release(): void;
  /** Keeps the place for as long as the session lives: cancels the reservation deadline. */
  confirm(): void;
}

/**
 * Counts every session of every transport against one concurrency limit. A phone call's place is
 * reserved at the webhook and released if its media stream never connects within a deadline.
 */
export class SessionRegistry {
  private readonly held = new Set<SlotImpl>();

  constructor(
    readonly limit: number,
    private readonly clock: Clock,
  ) {}

  /** Places in use, by transport. */
  counts(): Record<TransportKind, number> {
    const counts: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const slot of this.held) counts[slot.transport]++;
    return counts;
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * Takes a place, or returns undefined at the limit. With `deadlineMs`, the place is freed unless
   * `confirm()` is called in time.
   */
  reserve(transport: TransportKind, deadlineMs?: number): Slot | undefined {
    if (this.held.size >= this.limit) return undefined;
    const slot = new SlotImpl(transport, this.held);
    this.held.add(slot);
    if (deadlineMs !== undefined) slot.deadline = this.clock.after(deadlineMs, () => slot.release());
    return slot;
  }
}

class SlotImpl implements Slot {
  deadline: TimerHandle | undefined;

  constructor(
    readonly transport: TransportKind,
    private readonly held: Set<SlotImpl>,
  ) {}

  release(): void {
    this.deadline?.cancel();
    this.held.delete(this);
  }

  confirm(): void {
    this.deadline?.cancel();
    this.deadline = undefined;
  }
}
