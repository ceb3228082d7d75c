import type { RateBucket, RateLimitRule } from '../http/rate-limit.js';

export type { RateBucket };
import type { IncomingCall } from '../session/types.js';
import type { TransportKind } from '../session/types.js';

/**
 * What the instances of one deployment share, behind one contract: places under the concurrency
 * limit (leases), phone calls announced by their webhook (one-time tokens, idempotent per CallSid),
 * a directory of who holds what (session ids, CallSids) with a message bus to the holder, topics,
 * and per-key rate-limit buckets. `MemoryCoordination` serves one process; `RedisCoordination`
 * serves a cluster. Nothing here is called per audio frame.
 *
 * Every value that crosses this interface is plain JSON (it may travel through Redis or IPC).
 */
export interface Coordination {
  /** This instance's id, unique in the deployment. */
  readonly instanceId: string;
  /** `memory` (one process) or `redis` (a cluster). */
  readonly kind: 'memory' | 'redis';
  /** False while the shared store cannot be reached (new sessions are then refused). */
  readonly healthy: boolean;

  /** Connects (and checks the store answers). Throws CallstreamError COORDINATION_UNAVAILABLE when it cannot. */
  start(): Promise<void>;

  /**
   * Takes one place for a session of `transport` when fewer than `limit` are held deployment-wide;
   * undefined at the limit. The place is a lease this instance keeps renewing until `release()`;
   * an instance that dies stops renewing and its places come back within `leaseMs`.
   * Throws COORDINATION_UNAVAILABLE when the store cannot be reached.
   */
  acquirePlace(transport: TransportKind, limit: number): Promise<Place | undefined>;

  /** Places held deployment-wide, by transport (announced calls count as `telephone`). */
  counts(): Promise<PlaceCounts>;

  /**
   * A phone call's webhook: takes a place for it and issues a one-time token the media stream must
   * present, valid `ttlMs` (the place is freed with it if no stream comes). Idempotent per CallSid:
   * a CallSid still waiting for its stream gets the same token again and no second place; a CallSid
   * whose stream is live is refused (`live`). A CallSid announced before whose token and stream are
   * over is refused (`ended`) unless `resume` says the call is confirmed live. Every CallSid announced
   * is remembered deployment-wide for `rememberMs` (see `rememberCall`). Without a CallSid every call
   * is new.
   */
  announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options?: AnnounceOptions): Promise<Announcement>;

  /**
   * Remembers `callSid` deployment-wide for `rememberMs` from now (never less than it already was):
   * `announceCall` answers `ended` for it until then. At most REMEMBERED_CALLS_MAX CallSids (or the
   * implementation's own bound) are kept; past it the oldest (the soonest to be forgotten) go first.
   */
  rememberCall(callSid: string, rememberMs: number): Promise<void>;

  /**
   * The media stream's `start`: takes the call its token stands for, once, deployment-wide (atomic).
   * When the webhook knew the CallSid, the stream must carry the same one; a token presented with
   * another CallSid is refused (`other_call`) and stays valid for its own call. The call's place moves
   * to this instance (renewed from now on, like `acquirePlace`'s) and while it is held the CallSid
   * counts as live (`announceCall` refuses it).
   */
  takeCall(token: string, callSid: string | undefined): Promise<TakenCall>;

  /**
   * Claims `key` (a session id, `call:<CallSid>`...) and any `more` keys for this instance, all or
   * none, in one step: messages for them are handled here from now on, renewed with the leases until
   * `unclaim`. Resolves with the messages kept for them before anyone claimed them (key by key,
   * oldest first), or undefined when another instance holds any of them.
   */
  claim(key: string, ...more: string[]): Promise<unknown[] | undefined>;

  /** Gives up a claim (idempotent, never throws). */
  unclaim(key: string): void;

  /**
   * Sends `message` to the instance holding `key` and resolves with its handler's answer. When no
   * instance holds the key: with `keep`, the message is kept for `keepMs` for whoever claims it next
   * (`kept`), unless the key holds `keepAtMost` messages already or every key's kept messages together
   * would pass `keptBytesAtMost` (`full`); otherwise `absent`. A handler that throws a CallstreamError rejects
   * here with the same code and message. Rejects with COORDINATION_UNAVAILABLE when the store or
   * the holder does not answer within `timeoutMs` (default 3000).
   */
  ask(key: string, message: BusMessage, options?: AskOptions): Promise<Delivery>;

  /** Handles the messages sent to keys this instance claimed (one handler; a later call replaces it). */
  onMessage(handler: MessageHandler): void;

  /** Publishes on a topic, fire-and-forget: subscribers that are not connected at that moment miss it. */
  publish(topic: string, message: BusMessage): void;

  /** Listens to a topic (on every instance); returns the unsubscribe function. */
  subscribe(topic: string, listener: (message: BusMessage) => void): () => void;

  /** A per-key token bucket shared by every instance (e.g. per-IP request budgets). */
  rateBucket(name: string, rule: RateLimitRule): RateBucket;

  /** Gives back everything this instance holds (places, claims) at once, and disconnects. */
  close(): Promise<void>;
}

/** A place under the concurrency limit, held by this instance. */
export interface Place {
  readonly id: string;
  readonly transport: TransportKind;
  /** Gives the place back (idempotent; never throws: a release that cannot reach the store lapses with the lease). */
  release(): void;
}

export interface PlaceCounts {
  /** Places held, by transport. */
  byTransport: Record<TransportKind, number>;
  total: number;
}

/** What a webhook leaves for the media stream that follows it. */
export interface AnnouncedCall {
  /** The call's CallSid, when the webhook had one (the key of idempotency). */
  callSid?: string;
  call: IncomingCall;
  /** The `<Parameter>`s given to the stream (besides the token). */
  parameters: Record<string, string>;
}

export interface AnnounceOptions {
  /** How long the CallSid is remembered from now (ms). Default: `ttlMs` + CALL_MEMORY_MS. */
  rememberMs?: number;
  /** Announce a CallSid remembered from before: its call is confirmed live (a redirect back to the webhook). */
  resume?: boolean;
}

export type Announcement =
  /** A new token; a place was taken for the call. */
  | { kind: 'issued'; token: string }
  /** The CallSid was already announced and its stream has not come yet: the same token, no new place. */
  | { kind: 'repeated'; token: string }
  /** The concurrency limit is reached. */
  | { kind: 'busy' }
  /** The CallSid's media stream is live: a second stream is refused. */
  | { kind: 'live' }
  /** The CallSid was announced before and that is over (its stream ended, or never came): no token, no place. */
  | { kind: 'ended' };

export type TakenCall =
  | { kind: 'taken'; announced: AnnouncedCall; place: Place }
  /** The token belongs to another CallSid (it stays valid for its own call). */
  | { kind: 'other_call' }
  /** No such token: never issued, used, or expired. */
  | { kind: 'unknown' };

/** A message on the bus: any JSON object with a `type`. */
export interface BusMessage {
  type: string;
  [field: string]: unknown;
}

export interface AskOptions {
  /** Keep the message for the key's next holder when nobody holds it now. */
  keep?: boolean;
  /** How long a kept message waits for a claim (ms). Default 10000. */
  keepMs?: number;
  /** Most messages kept for one key; past it a new one is not kept (`full`). Default KEPT_PER_KEY. */
  keepAtMost?: number;
  /**
   * What the kept messages of every key may cost together (`keptCost`, bytes), this one included;
   * past it the message is not kept (`full`). Default KEPT_BYTES.
   */
  keptBytesAtMost?: number;
  /** How long to wait for the holder's answer (ms). Default 3000. */
  timeoutMs?: number;
}

export type Delivery =
  | { kind: 'replied'; value: unknown }
  | { kind: 'kept' }
  /** Not kept: its key holds `keepAtMost` messages already (`key`), or the store its budget (`store`). */
  | { kind: 'full'; bound: 'key' | 'store' }
  | { kind: 'absent' };

/** Messages kept for one key unless the asker says otherwise (`keepAtMost`). */
export const KEPT_PER_KEY = 50;
/** What kept messages may cost together unless the asker says otherwise (`keptBytesAtMost`): 4 MiB. */
export const KEPT_BYTES = 4 * 1024 * 1024;
/** What one kept entry costs beyond its JSON (its expiry, list and index bookkeeping), in bytes. */
export const KEPT_ENTRY_OVERHEAD = 64;

/** What a kept message counts against `keptBytesAtMost`: its JSON's UTF-8 bytes and the entry overhead. */
export function keptCost(json: string): number {
  return Buffer.byteLength(json) + KEPT_ENTRY_OVERHEAD;
}

/** Answers a message for a claimed key; its value (JSON) goes back to the asker. */
export type MessageHandler = (key: string, message: BusMessage) => unknown;

/**
 * A limit as it travels to a store (JSON over IPC, Lua arguments): no limit (Infinity, which JSON
 * turns into null) becomes the largest safe integer.
 */
export function finiteLimit(limit: number): number {
  return Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER;
}

/** How long a lease lives without renewal, and how often it is renewed (ms). */
export const LEASE_MS = 9000;
export const RENEW_EVERY_MS = 3000;

/** How long a CallSid is remembered after its call, beyond its token's lifetime (ms): an hour. */
export const CALL_MEMORY_MS = 60 * 60_000;
/** CallSids remembered at most, deployment-wide (about 140 bytes each, in memory or in Redis). */
export const REMEMBERED_CALLS_MAX = 100_000;
