import type { TransportKind } from './types.js';

/** A place held under the concurrency limit, by a live session or by a call about to connect. */
export interface Slot {
  readonly transport: TransportKind;
  /** Frees the place (idempotent). */
  release(): void;
}

/**
 * Counts every session of every transport against one concurrency limit. Whoever reserves a place
 * hands it to the session it opens, which frees it when it ends; a phone call's place reserved at
 * the webhook is freed by its call token's expiry if no media stream comes.
 */
export class SessionRegistry {
  private readonly held = new Set<Slot>();

  constructor(readonly limit: number) {}

  /** Places in use, by transport. */
  counts(): Record<TransportKind, number> {
    const counts: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const slot of this.held) counts[slot.transport]++;
    return counts;
  }

  get size(): number {
    return this.held.size;
  }

  /** Takes a place, or returns undefined at the limit. */
  reserve(transport: TransportKind): Slot | undefined {
    if (this.held.size >= this.limit) return undefined;
    const held = this.held;
    const slot: Slot = { transport, release: () => held.delete(slot) };
    held.add(slot);
    return slot;
  }
}
