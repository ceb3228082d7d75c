import type { RTCIceCandidateInit } from 'werift';
import type { Clock, TimerHandle } from '../../clock.js';

/**
 * ICE candidates that arrived before their offer (trickle races the offer POST). Kept briefly per
 * id, bounded in count, then forgotten.
 */
export class PendingCandidates {
  private readonly byId = new Map<string, { candidates: RTCIceCandidateInit[]; expiry: TimerHandle }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
    private readonly maxIds = 1000,
    private readonly maxPerId = 50,
  ) {}

  /** Keeps a candidate for `id`; false when the store is full. */
  add(id: string, candidate: RTCIceCandidateInit): boolean {
    let entry = this.byId.get(id);
    if (!entry) {
      if (this.byId.size >= this.maxIds) return false;
      entry = { candidates: [], expiry: this.clock.after(this.ttlMs, () => this.byId.delete(id)) };
      this.byId.set(id, entry);
    }
    if (entry.candidates.length >= this.maxPerId) return false;
    entry.candidates.push(candidate);
    return true;
  }

  /** Takes (and forgets) the candidates kept for `id`. */
  take(id: string): RTCIceCandidateInit[] {
    const entry = this.byId.get(id);
    if (!entry) return [];
    entry.expiry.cancel();
    this.byId.delete(id);
    return entry.candidates;
  }

  clear(): void {
    for (const entry of this.byId.values()) entry.expiry.cancel();
    this.byId.clear();
  }
}
