import type { Clock } from '../clock.js';
import type { RateLimitRule } from '../http/rate-limit.js';
import type { TransportKind } from '../session/types.js';
import type { AnnouncedCall, Announcement, AnnounceOptions, AskOptions, BusMessage, Delivery, MessageHandler, PlaceCounts } from './coordination.js';

/** A call taken by its media stream: what the webhook left, and the place that moves to the taker. */
export type HubTakenCall =
  | { kind: 'taken'; announced: AnnouncedCall; placeId: string }
  | { kind: 'other_call' }
  | { kind: 'unknown' };

/** What an instance attached to the hub answers with. */
export interface HubMember {
  onMessage: MessageHandler;
  onTopic(topic: string, message: BusMessage): void;
}

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * How a `MemoryCoordination` reaches the hub it shares: the `MemoryHub` itself (same process: plain
 * values) or a port to a hub in another process (a node:cluster primary: promises, see ipc-port.ts).
 * The methods that return nothing are fire-and-forget; the others may throw (or reject with)
 * COORDINATION_UNAVAILABLE when the hub cannot be reached. Every argument and value is plain JSON.
 */
export interface HubPort {
  /** The hub's clock, when it is in this process (leases are counted on it). */
  readonly clock?: Clock;
  attach(instanceId: string, member: HubMember): void;
  detach(instanceId: string, release: boolean): void;
  acquirePlace(instanceId: string, transport: TransportKind, limit: number, leaseMs: number): Awaitable<string | undefined>;
  releasePlace(placeId: string): void;
  counts(): Awaitable<PlaceCounts>;
  announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options?: AnnounceOptions): Awaitable<Announcement>;
  rememberCall(callSid: string, rememberMs: number): Awaitable<void>;
  takeCall(instanceId: string, token: string, callSid: string | undefined, leaseMs: number): Awaitable<HubTakenCall>;
  claim(instanceId: string, keys: string[], leaseMs: number): Awaitable<BusMessage[] | undefined>;
  unclaim(instanceId: string, key: string): void;
  renew(instanceId: string, places: { id: string; transport: TransportKind }[], keys: string[], leaseMs: number): void;
  ask(key: string, message: BusMessage, options?: AskOptions): Promise<Delivery>;
  publish(topic: string, message: BusMessage): void;
  /** Counts one request for `key` in the bucket `name` (see RateBucket.hit). */
  hit(name: string, rule: RateLimitRule, key: string): Awaitable<number>;
  /** See RateBucket.retryAfterMs. */
  retryAfterMs(name: string, rule: RateLimitRule, key: string): Awaitable<number>;
}
