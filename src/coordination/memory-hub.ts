import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { CallstreamError, describeError } from '../errors.js';
import { RateLimiter, type RateLimitRule } from '../http/rate-limit.js';
import type { TransportKind } from '../session/types.js';
import { type AnnouncedCall, type Announcement, type AnnounceOptions, type AskOptions, type BusMessage, CALL_MEMORY_MS, type Delivery, type MessageHandler, type PlaceCounts, REMEMBERED_CALLS_MAX } from './coordination.js';
import type { HubMember, HubPort, HubTakenCall } from './hub-port.js';
import { KeptMessages } from './kept-messages.js';

interface HeldPlace {
  transport: TransportKind;
  /** The instance renewing it; undefined while a call announced by its webhook waits for its stream. */
  holder: string | undefined;
  expiresAt: number;
}

type CallRecord = { state: 'pending'; token: string } | { state: 'live'; placeId: string };

interface TokenRecord {
  announced: AnnouncedCall;
  placeId: string;
  expiresAt: number;
}

/** A holder's answer; a fault that is not a CallstreamError reaches the asker as HANDLER_ERROR, as over Redis. */
async function answer(member: HubMember, key: string, message: BusMessage): Promise<unknown> {
  try {
    return await member.onMessage(key, message);
  } catch (error) {
    if (error instanceof CallstreamError) throw error;
    throw new CallstreamError('HANDLER_ERROR', describeError(error));
  }
}

/**
 * The shared state of the instances of one process (or of a node:cluster primary and its workers,
 * reached over IPC: ipc-hub.ts): the same semantics as Redis gives a cluster, in memory. Leases
 * expire on the hub's clock and are pruned as they are read; each instance renews what it holds
 * (`renew`). It is its own `HubPort` (plain values).
 */
export class MemoryHub implements HubPort {
  private readonly places = new Map<string, HeldPlace>();
  private readonly calls = new Map<string, CallRecord>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly owners = new Map<string, { instanceId: string; expiresAt: number }>();
  /** Messages for keys nobody holds yet: bounded per key and in bytes, each lapsing on its own. */
  readonly kept: KeptMessages;
  private readonly members = new Map<string, HubMember>();
  private readonly topics = new EventEmitter();
  private readonly buckets = new Map<string, RateLimiter>();
  /** CallSids announced (or said over), by when they are forgotten; the least recently remembered first. */
  private readonly remembered = new Map<string, number>();

  constructor(
    readonly clock: Clock = systemClock,
    /** CallSids remembered at most. */
    private readonly rememberedMax = REMEMBERED_CALLS_MAX,
  ) {
    this.kept = new KeptMessages(clock);
    this.topics.setMaxListeners(0);
  }

  /** An instance joins: messages for its keys and topic messages reach `member`. */
  attach(instanceId: string, member: HubMember): void {
    this.members.set(instanceId, member);
  }

  /** An instance leaves: what it holds is given back when `release`, else left to lapse (a crash). */
  detach(instanceId: string, release: boolean): void {
    this.members.delete(instanceId);
    if (!release) return;
    for (const [id, place] of this.places) if (place.holder === instanceId) this.releasePlace(id);
    for (const [key, owner] of this.owners) if (owner.instanceId === instanceId) this.owners.delete(key);
  }

  acquirePlace(instanceId: string, transport: TransportKind, limit: number, leaseMs: number): string | undefined {
    if (this.livePlaces() >= limit) return undefined;
    const id = randomUUID();
    this.places.set(id, { transport, holder: instanceId, expiresAt: this.clock.now() + leaseMs });
    return id;
  }

  releasePlace(placeId: string): void {
    this.places.delete(placeId);
    for (const [callSid, record] of this.calls) {
      if (record.state === 'live' && record.placeId === placeId) this.calls.delete(callSid);
    }
  }

  counts(): PlaceCounts {
    this.livePlaces();
    const byTransport: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const place of this.places.values()) byTransport[place.transport]++;
    return { byTransport, total: this.places.size };
  }

  announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options: AnnounceOptions = {}): Announcement {
    const callSid = announced.callSid;
    const record = callSid === undefined ? undefined : this.calls.get(callSid);
    if (record?.state === 'pending' && this.liveToken(record.token)) return { kind: 'repeated', token: record.token };
    if (record?.state === 'live' && this.isLive(record.placeId)) return { kind: 'live' };
    if (callSid !== undefined && !options.resume && this.remembers(callSid)) return { kind: 'ended' };
    if (this.livePlaces() >= limit) return { kind: 'busy' };
    const expiresAt = this.clock.now() + ttlMs;
    const placeId = randomUUID();
    const token = randomBytes(24).toString('base64url');
    this.places.set(placeId, { transport: 'telephone', holder: undefined, expiresAt });
    this.tokens.set(token, { announced, placeId, expiresAt });
    if (callSid !== undefined) {
      this.calls.set(callSid, { state: 'pending', token });
      this.rememberCall(callSid, options.rememberMs ?? ttlMs + CALL_MEMORY_MS);
    }
    return { kind: 'issued', token };
  }

  /** Remembers a CallSid until `rememberMs` from now (or later, if it already was); the oldest go past the bound. */
  rememberCall(callSid: string, rememberMs: number): void {
    const now = this.clock.now();
    const until = Math.max(this.remembered.get(callSid) ?? 0, now + rememberMs);
    this.remembered.delete(callSid);
    this.remembered.set(callSid, until);
    for (const [sid, forgetAt] of this.remembered) {
      if (forgetAt > now && this.remembered.size <= this.rememberedMax) break;
      this.remembered.delete(sid);
    }
  }

  takeCall(instanceId: string, token: string, callSid: string | undefined, leaseMs: number): HubTakenCall {
    const record = this.liveToken(token);
    if (!record) return { kind: 'unknown' };
    const expected = record.announced.callSid;
    if (expected !== undefined && expected !== callSid) return { kind: 'other_call' };
    this.tokens.delete(token);
    const place = this.places.get(record.placeId);
    if (place) {
      place.holder = instanceId;
      place.expiresAt = this.clock.now() + leaseMs;
    } else {
      this.places.set(record.placeId, { transport: 'telephone', holder: instanceId, expiresAt: this.clock.now() + leaseMs });
    }
    if (expected !== undefined) this.calls.set(expected, { state: 'live', placeId: record.placeId });
    return { kind: 'taken', announced: record.announced, placeId: record.placeId };
  }

  claim(instanceId: string, keys: string[], leaseMs: number): BusMessage[] | undefined {
    for (const key of keys) {
      const owner = this.owner(key);
      if (owner !== undefined && owner !== instanceId) return undefined;
    }
    const now = this.clock.now();
    const messages: BusMessage[] = [];
    for (const key of keys) {
      this.owners.set(key, { instanceId, expiresAt: now + leaseMs });
      messages.push(...this.kept.take(key));
    }
    return messages;
  }

  unclaim(instanceId: string, key: string): void {
    if (this.owners.get(key)?.instanceId === instanceId) this.owners.delete(key);
  }

  /** Extends the leases of what an instance holds, and puts back what went missing. */
  renew(instanceId: string, places: { id: string; transport: TransportKind }[], keys: string[], leaseMs: number): void {
    const expiresAt = this.clock.now() + leaseMs;
    for (const { id, transport } of places) this.places.set(id, { transport, holder: instanceId, expiresAt });
    for (const key of keys) {
      const owner = this.owner(key);
      if (owner === undefined || owner === instanceId) this.owners.set(key, { instanceId, expiresAt });
    }
  }

  async ask(key: string, message: BusMessage, options: AskOptions = {}): Promise<Delivery> {
    const owner = this.owner(key);
    if (owner === undefined) {
      if (!options.keep) return { kind: 'absent' };
      return this.kept.keep(key, message, { keepMs: options.keepMs ?? 10_000, atMost: options.keepAtMost, bytesAtMost: options.keptBytesAtMost });
    }
    const member = this.members.get(owner);
    const silent = () => new CallstreamError('COORDINATION_UNAVAILABLE', `The instance holding "${key}" does not answer.`);
    if (!member) throw silent();
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = this.clock.after(options.timeoutMs ?? 3000, () => reject(silent()))));
    try {
      const value = await Promise.race([answer(member, key, message), timeout]);
      return { kind: 'replied', value: value === undefined ? null : JSON.parse(JSON.stringify(value)) };
    } finally {
      timer?.cancel();
    }
  }

  publish(topic: string, message: BusMessage): void {
    for (const member of this.members.values()) member.onTopic(topic, message);
  }

  /** Counts one request for `key` in the bucket `name` (made with `rule` on first use). */
  hit(name: string, rule: RateLimitRule, key: string): number {
    return this.bucket(name, rule).hit(key);
  }

  retryAfterMs(name: string, rule: RateLimitRule, key: string): number {
    return this.bucket(name, rule).retryAfterMs(key);
  }

  bucket(name: string, rule: RateLimitRule): RateLimiter {
    let limiter = this.buckets.get(name);
    if (!limiter) {
      limiter = new RateLimiter(rule, this.clock);
      this.buckets.set(name, limiter);
    }
    return limiter;
  }

  private owner(key: string): string | undefined {
    const owner = this.owners.get(key);
    if (owner && owner.expiresAt <= this.clock.now()) {
      this.owners.delete(key);
      return undefined;
    }
    return owner?.instanceId;
  }

  private liveToken(token: string): TokenRecord | undefined {
    const record = this.tokens.get(token);
    if (record && record.expiresAt <= this.clock.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return record;
  }

  private remembers(callSid: string): boolean {
    const until = this.remembered.get(callSid);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.remembered.delete(callSid);
    return false;
  }

  private isLive(placeId: string): boolean {
    const place = this.places.get(placeId);
    return place !== undefined && place.expiresAt > this.clock.now();
  }

  /** Drops lapsed places (and the call records tied to them); returns how many are held. */
  private livePlaces(): number {
    const now = this.clock.now();
    for (const [id, place] of this.places) if (place.expiresAt <= now) this.releasePlace(id);
    for (const [token, record] of this.tokens) if (record.expiresAt <= now) this.tokens.delete(token);
    for (const [callSid, record] of this.calls) {
      if (record.state === 'pending' && !this.tokens.has(record.token)) this.calls.delete(callSid);
    }
    return this.places.size;
  }
}
