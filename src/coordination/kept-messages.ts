import type { Clock } from '../clock.js';
import { type BusMessage, type Delivery, KEPT_BYTES, KEPT_PER_KEY, keptCost } from './coordination.js';

interface Entry {
  /** The message as JSON: what is kept is what a store would keep (a copy), and its cost is exact. */
  json: string;
  cost: number;
  expiresAt: number;
}

/** How often (clock ms) every key is swept for expired messages; between sweeps a key is pruned when touched. */
const SWEEP_EVERY_MS = 1000;

/** How one message is kept. */
export interface KeepRule {
  keepMs: number;
  atMost?: number;
  bytesAtMost?: number;
}

/**
 * Messages kept in memory for keys nobody holds yet (the MemoryHub's side of `ask(..., {keep})`),
 * the same bounds as Redis keeps them with: each message lapses `keepMs` after it came (a key's
 * newer messages do not keep its older ones alive), a key keeps at most `atMost` live messages, and
 * every key's messages together cost at most `bytesAtMost` (`keptCost`). A message past a bound is
 * not kept (`full`): what was kept first stays.
 */
export class KeptMessages {
  private readonly lists = new Map<string, Entry[]>();
  private cost = 0;
  private sweptAt = -Infinity;

  constructor(private readonly clock: Clock) {}

  /** What the live kept messages cost together (bytes). */
  get bytes(): number {
    return this.cost;
  }

  /** Keys with kept messages. */
  get keys(): number {
    return this.lists.size;
  }

  keep(key: string, message: BusMessage, rule: KeepRule): Extract<Delivery, { kind: 'kept' | 'full' }> {
    const now = this.clock.now();
    this.sweep(now);
    const list = this.prune(key, now) ?? [];
    if (list.length >= (rule.atMost ?? KEPT_PER_KEY)) return { kind: 'full', bound: 'key' };
    const json = JSON.stringify(message);
    const cost = keptCost(json);
    if (this.cost + cost > (rule.bytesAtMost ?? KEPT_BYTES)) return { kind: 'full', bound: 'store' };
    list.push({ json, cost, expiresAt: now + rule.keepMs });
    this.lists.set(key, list);
    this.cost += cost;
    return { kind: 'kept' };
  }

  /** The live messages kept for `key`, oldest first, and forgets them. */
  take(key: string): BusMessage[] {
    const now = this.clock.now();
    const list = this.lists.get(key) ?? [];
    this.forget(key);
    return list.filter((entry) => entry.expiresAt > now).map((entry) => JSON.parse(entry.json) as BusMessage);
  }

  /** Drops a key's lapsed messages from its head (they came first); returns what is left of it. */
  private prune(key: string, now: number): Entry[] | undefined {
    const list = this.lists.get(key);
    if (!list) return undefined;
    let lapsed = 0;
    while (lapsed < list.length && list[lapsed]!.expiresAt <= now) this.cost -= list[lapsed++]!.cost;
    if (lapsed > 0) list.splice(0, lapsed);
    if (list.length > 0) return list;
    this.lists.delete(key);
    return undefined;
  }

  /** Every key's lapsed messages, at most once a second (the work is bounded by the byte budget). */
  private sweep(now: number): void {
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    for (const [key, list] of this.lists) {
      const live = list.filter((entry) => entry.expiresAt > now);
      if (live.length === list.length) continue;
      for (const entry of list) if (entry.expiresAt <= now) this.cost -= entry.cost;
      if (live.length > 0) this.lists.set(key, live);
      else this.lists.delete(key);
    }
  }

  private forget(key: string): void {
    for (const entry of this.lists.get(key) ?? []) this.cost -= entry.cost;
    this.lists.delete(key);
  }
}
