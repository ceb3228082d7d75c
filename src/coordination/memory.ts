import { randomUUID } from 'node:crypto';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { RateLimitRule } from '../http/rate-limit.js';
import type { TransportKind } from '../session/types.js';
import {
  type AnnouncedCall,
  type Announcement,
  type AnnounceOptions,
  type AskOptions,
  type BusMessage,
  type Coordination,
  type Delivery,
  finiteLimit,
  LEASE_MS,
  type MessageHandler,
  type Place,
  type PlaceCounts,
  type RateBucket,
  RENEW_EVERY_MS,
  type TakenCall,
} from './coordination.js';
import type { HubPort } from './hub-port.js';
import { MemoryHub } from './memory-hub.js';
import { TopicListeners } from './topic-listeners.js';

export interface MemoryCoordinationOptions {
  /**
   * The hub shared with other instances: a `MemoryHub` of this process, or a port to one in another
   * process (a node:cluster worker's `IpcHubPort`). A private hub by default.
   */
  hub?: HubPort;
  instanceId?: string;
  /** The hub's clock by default (the system clock when the hub is in another process). */
  clock?: Clock;
  leaseMs?: number;
  renewEveryMs?: number;
}

/**
 * Coordination in memory: what a single instance uses when no cluster is configured, what instances
 * sharing a `MemoryHub` use in tests, and what node:cluster workers use through a port to the hub in
 * their primary. Same contract as the Redis implementation.
 */
export class MemoryCoordination implements Coordination {
  readonly kind = 'memory' as const;
  readonly instanceId: string;
  readonly healthy = true;
  private readonly hub: HubPort;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly places = new Map<string, MemoryPlace>();
  private readonly claims = new Set<string>();
  private readonly topics = new TopicListeners();
  private handler: MessageHandler = (key) => {
    throw new Error(`no message handler for "${key}"`);
  };
  private renewal: TimerHandle | undefined;
  private closed = false;

  constructor(options: MemoryCoordinationOptions = {}) {
    this.hub = options.hub ?? new MemoryHub(options.clock);
    this.clock = options.clock ?? this.hub.clock ?? systemClock;
    this.instanceId = options.instanceId ?? randomUUID();
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.renewEveryMs = options.renewEveryMs ?? RENEW_EVERY_MS;
    this.hub.attach(this.instanceId, {
      onMessage: (key, message) => this.handler(key, message),
      onTopic: (topic, message) => this.topics.emit(topic, message),
    });
    this.scheduleRenewal();
  }

  async start(): Promise<void> {}

  async acquirePlace(transport: TransportKind, limit: number): Promise<Place | undefined> {
    const id = await this.hub.acquirePlace(this.instanceId, transport, finiteLimit(limit), this.leaseMs);
    return id === undefined ? undefined : this.hold(id, transport);
  }

  async counts(): Promise<PlaceCounts> {
    return this.hub.counts();
  }

  async announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options?: AnnounceOptions): Promise<Announcement> {
    return this.hub.announceCall(announced, finiteLimit(limit), ttlMs, options);
  }

  async rememberCall(callSid: string, rememberMs: number): Promise<void> {
    await this.hub.rememberCall(callSid, rememberMs);
  }

  async takeCall(token: string, callSid: string | undefined): Promise<TakenCall> {
    const taken = await this.hub.takeCall(this.instanceId, token, callSid, this.leaseMs);
    if (taken.kind !== 'taken') return taken;
    return { kind: 'taken', announced: taken.announced, place: this.hold(taken.placeId, 'telephone') };
  }

  async claim(key: string, ...more: string[]): Promise<unknown[] | undefined> {
    const keys = [key, ...more];
    const kept = await this.hub.claim(this.instanceId, keys, this.leaseMs);
    if (kept) for (const k of keys) this.claims.add(k);
    return kept;
  }

  unclaim(key: string): void {
    if (!this.claims.delete(key)) return;
    this.hub.unclaim(this.instanceId, key);
  }

  ask(key: string, message: BusMessage, options?: AskOptions): Promise<Delivery> {
    return this.hub.ask(key, message, options);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  publish(topic: string, message: BusMessage): void {
    this.hub.publish(topic, message);
  }

  subscribe(topic: string, listener: (message: BusMessage) => void): () => void {
    return this.topics.add(topic, listener);
  }

  rateBucket(name: string, rule: RateLimitRule): RateBucket {
    return {
      rule,
      hit: async (key) => this.hub.hit(name, rule, key),
      retryAfterMs: async (key) => this.hub.retryAfterMs(name, rule, key),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.renewal?.cancel();
    this.places.clear();
    this.claims.clear();
    this.hub.detach(this.instanceId, true);
  }

  /** @internal Stops renewing and answering without giving anything back, as a killed process does. */
  crash(): void {
    this.closed = true;
    this.renewal?.cancel();
    this.hub.detach(this.instanceId, false);
  }

  private hold(id: string, transport: TransportKind): Place {
    const place = new MemoryPlace(id, transport, () => {
      if (this.places.delete(id)) this.hub.releasePlace(id);
    });
    this.places.set(id, place);
    return place;
  }

  private scheduleRenewal(): void {
    this.renewal = this.clock.after(this.renewEveryMs, () => {
      if (this.closed) return;
      const places = [...this.places.values()].map(({ id, transport }) => ({ id, transport }));
      this.hub.renew(this.instanceId, places, [...this.claims], this.leaseMs);
      this.scheduleRenewal();
    });
  }
}

class MemoryPlace implements Place {
  constructor(
    readonly id: string,
    readonly transport: TransportKind,
    readonly release: () => void,
  ) {}
}
