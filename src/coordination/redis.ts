import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Redis } from 'ioredis';
import { CallstreamError, describeError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { RateLimitRule } from '../http/rate-limit.js';
import type { TransportKind } from '../session/types.js';
import {
  type AnnouncedCall,
  type Announcement,
  type AnnounceOptions,
  type AskOptions,
  type BusMessage,
  CALL_MEMORY_MS,
  type Coordination,
  type Delivery,
  finiteLimit,
  KEPT_BYTES,
  KEPT_PER_KEY,
  keptCost,
  LEASE_MS,
  type MessageHandler,
  type Place,
  type PlaceCounts,
  type RateBucket,
  REMEMBERED_CALLS_MAX,
  RENEW_EVERY_MS,
  type TakenCall,
} from './coordination.js';
import { RedisBus, remainingMs } from './redis-bus.js';
import { OutageLog } from './outage-log.js';
import { openConnections, type RedisConnections, unavailable, withTimeout } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { type HeldPlace, Leases } from './redis-leases.js';
import { ACQUIRE, ANNOUNCE, ASK, CLAIM, COUNTS, type LuaScript, RATE, REMEMBER, TAKE } from './redis-scripts.js';
import { RedisTopics } from './redis-topics.js';

/*
 * Key layout (P = prefix, default `callstream:`); times are Redis server milliseconds:
 *   P places              ZSET    member `<transport>:<placeId>`, score = when its lease runs out
 *   P token:<token>       HASH    callSid ('' when none), place (member), call (AnnouncedCall JSON); PX ttlMs
 *   P callsid:<CallSid>   STRING  `pending|<token>` (PX ttlMs) until the stream takes the call, then
 *                                 `live|<place member>` (PX leaseMs, renewed with the place)
 *   P remembered-calls    ZSET    member CallSid, score = when it is forgotten; at most rememberedCallsMax,
 *                                 PEXPIRE'd with its last member
 *   P owner:<key>         STRING  instanceId holding the claim; PX leaseMs, renewed
 *   P kept:<key>          LIST    `<expiry ms>|<message JSON>`, oldest first, at most `keepAtMost`;
 *                                 PEXPIREAT its last message's expiry (lapsed ones leave from the head)
 *   P kept-index          ZSET    member = a kept list's key, score = when its last message lapses
 *   P kept-costs          HASH    a kept list's key → what its messages cost (keptCost, bytes)
 *   P kept-total          STRING  what every kept message costs together, at most `keptBytesAtMost`
 *                                 (the three books expire with the last message they count)
 *   P rate:<name>:<key>   HASH    tokens, at; PEXPIRE windowMs (a bucket refilled is forgotten)
 * Channels:
 *   P instance:<id>       asks for keys this instance claimed, and the replies to its own asks
 *   P topic:<topic>       topic messages
 * Every multi-step operation is one Lua script (redis-scripts.ts), so atomic; every key it touches is
 * in KEYS, but keys are not hash-tagged: a single Redis (or primary/replica) is supported, not Redis Cluster.
 */

const DEFAULT_KEEP_MS = 10_000;
const DEFAULT_ASK_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 2000;
const TRANSPORTS: readonly TransportKind[] = ['telephone', 'webrtc', 'websocket'];
/** What the outage's one warning says (and its debug lines while it lasts). */
const OUTAGE = 'Redis unavailable: new sessions and requests that need it are refused (503) until it answers again; live sessions go on';

export interface RedisCoordinationOptions {
  /** A Redis URL (`redis://`, `rediss://`) or an ioredis client (duplicated: the client stays yours). */
  redis: string | Redis;
  /** Unique in the deployment (default: host, pid and a random part). */
  instanceId?: string;
  /** Prefix of every key and channel (default `callstream:`). */
  prefix?: string;
  /** How long a lease lives unrenewed (ms, default LEASE_MS). */
  leaseMs?: number;
  /** How often this instance renews its leases (ms, default RENEW_EVERY_MS). */
  renewEveryMs?: number;
  logger?: Logger;
  /** How long `start()` waits for Redis (ms, default 3000). */
  connectTimeoutMs?: number;
  /** CallSids remembered at most (default REMEMBERED_CALLS_MAX). */
  rememberedCallsMax?: number;
}

type State = 'new' | 'started' | 'closed';

/**
 * The Coordination of a cluster, on Redis: places are leases in a sorted set, renewed (and put back
 * after a Redis restart) by their instance every `renewEveryMs`; claims are keys with an owner lease;
 * asks travel over pub/sub to the owner's instance channel. While Redis is away, commands fail at once
 * with COORDINATION_UNAVAILABLE and `healthy` is false; both connections reconnect on their own.
 */
export class RedisCoordination implements Coordination {
  readonly kind = 'redis' as const;
  readonly instanceId: string;
  private readonly keys: RedisKeys;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly connectTimeoutMs: number;
  private readonly rememberedCallsMax: number;
  private readonly logger: Logger;
  private readonly redis: RedisConnections;
  private readonly outage: OutageLog;
  private readonly leases: Leases;
  private readonly topics: RedisTopics;
  private readonly bus: RedisBus;
  private state: State = 'new';
  private starting: Promise<void> | undefined;

  constructor(options: RedisCoordinationOptions) {
    this.instanceId = options.instanceId ?? `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.keys = new RedisKeys(options.prefix ?? 'callstream:');
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.renewEveryMs = options.renewEveryMs ?? RENEW_EVERY_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.rememberedCallsMax = options.rememberedCallsMax ?? REMEMBERED_CALLS_MAX;
    this.logger = (options.logger ?? createLogger()).child({ component: 'coordination', instanceId: this.instanceId });
    this.outage = new OutageLog(this.logger);
    this.redis = openConnections(options.redis, { connectTimeoutMs: this.connectTimeoutMs, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    const { commands, subscriber, where } = this.redis;
    this.leases = new Leases(commands, this.keys, this.instanceId, this.leaseMs, this.logger, this.outage, () => this.answersAgain());
    this.topics = new RedisTopics(subscriber, this.keys, this.logger);
    this.bus = new RedisBus({
      instanceId: this.instanceId,
      commands,
      keys: this.keys,
      where,
      logger: this.logger,
      holds: (key) => this.leases.holdsClaim(key),
      open: () => this.state === 'started',
    });
    for (const [connection, client] of [['commands', commands], ['subscriber', subscriber]] as const) {
      client.on('error', (error: unknown) => this.outage.trouble({ redis: where, connection, err: describeError(error) }, OUTAGE));
      client.on('close', () => {
        if (this.state === 'started') this.outage.trouble({ redis: where, connection, trouble: 'connection lost' }, OUTAGE);
      });
    }
    commands.on('ready', () => {
      if (this.state !== 'started') return;
      this.answersAgain();
      void this.leases.renew();
    });
    subscriber.on('ready', () => {
      if (this.state !== 'started') return;
      this.answersAgain();
      void this.subscribeAll();
    });
    subscriber.on('message', (channel: string, text: string) => {
      const topic = this.keys.topicOf(channel);
      if (topic !== undefined) this.topics.deliver(topic, text);
      else this.bus.receive(text);
    });
  }

  /** True while both connections to Redis are up. */
  get healthy(): boolean {
    return this.state === 'started' && this.redis.commands.status === 'ready' && this.redis.subscriber.status === 'ready';
  }

  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new CallstreamError('COORDINATION_UNAVAILABLE', 'This coordination was closed: create a new one.'));
    this.starting ??= this.connect().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  async acquirePlace(transport: TransportKind, limit: number): Promise<Place | undefined> {
    const id = newId();
    const member = `${transport}:${id}`;
    const taken = await this.run(ACQUIRE, [this.keys.places()], [member, finiteLimit(limit), this.leaseMs]);
    return taken === 1 ? this.hold(id, transport, { member }) : undefined;
  }

  async counts(): Promise<PlaceCounts> {
    const members = (await this.run(COUNTS, [this.keys.places()], [])) as string[];
    const byTransport = Object.fromEntries(TRANSPORTS.map((t) => [t, 0])) as Record<TransportKind, number>;
    for (const member of members) {
      const transport = member.slice(0, member.indexOf(':')) as TransportKind;
      if (transport in byTransport) byTransport[transport]++;
    }
    return { byTransport, total: members.length };
  }

  async announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options: AnnounceOptions = {}): Promise<Announcement> {
    const callSid = announced.callSid ?? '';
    const token = randomBytes(24).toString('base64url');
    const keys = [this.keys.places(), this.keys.callSid(callSid), this.keys.token(token), this.keys.rememberedCalls()];
    const rememberMs = options.rememberMs ?? ttlMs + CALL_MEMORY_MS;
    const args = [callSid ? '1' : '0', finiteLimit(limit), ttlMs, `telephone:${newId()}`, token, callSid, JSON.stringify(announced), rememberMs, options.resume ? '1' : '0', this.rememberedCallsMax];
    const [kind, issued] = (await this.run(ANNOUNCE, keys, args)) as [string, string?];
    if (kind === 'issued' || kind === 'repeated') return { kind, token: issued! };
    return { kind: kind === 'live' || kind === 'ended' ? kind : 'busy' };
  }

  async rememberCall(callSid: string, rememberMs: number): Promise<void> {
    await this.run(REMEMBER, [this.keys.rememberedCalls()], [callSid, rememberMs, this.rememberedCallsMax]);
  }

  async takeCall(token: string, callSid: string | undefined): Promise<TakenCall> {
    const sid = callSid ?? '';
    const keys = [this.keys.places(), this.keys.token(token), this.keys.callSid(sid)];
    const [kind, member, call] = (await this.run(TAKE, keys, [sid, this.leaseMs])) as [string, string?, string?];
    if (kind !== 'taken') return { kind: kind === 'other_call' ? 'other_call' : 'unknown' };
    const place = this.hold(member!.slice(member!.indexOf(':') + 1), 'telephone', { member: member!, ...(sid ? { callSid: sid } : {}) });
    return { kind: 'taken', announced: JSON.parse(call!) as AnnouncedCall, place };
  }

  async claim(key: string, ...more: string[]): Promise<unknown[] | undefined> {
    const keys = [key, ...more];
    const redisKeys = [...keys.flatMap((k) => [this.keys.owner(k), this.keys.kept(k)]), ...this.keys.keptBooks()];
    const kept = (await this.run(CLAIM, redisKeys, [this.instanceId, this.leaseMs])) as string[] | null;
    if (kept === null) return undefined;
    for (const k of keys) {
      this.leases.holdClaim(k);
      if (this.state !== 'started') this.leases.releaseClaim(k);
    }
    return kept.flatMap((text) => parseJson(text, this.logger));
  }

  unclaim(key: string): void {
    this.leases.releaseClaim(key);
  }

  async ask(key: string, message: BusMessage, options: AskOptions = {}): Promise<Delivery> {
    const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS);
    // Held here: answered in process, with no Redis round-trip (and while Redis is away).
    if (this.leases.holdsClaim(key)) return { kind: 'replied', value: await this.bus.answerHere(key, message, deadline) };
    const json = JSON.stringify(message);
    const bounds = [options.keepMs ?? DEFAULT_KEEP_MS, options.keepAtMost ?? KEPT_PER_KEY, options.keptBytesAtMost ?? KEPT_BYTES, keptCost(json)];
    const args = [options.keep ? '1' : '0', json, ...bounds];
    for (let attempt = 1; ; attempt++) {
      const found = this.run(ASK, [this.keys.owner(key), this.keys.kept(key), ...this.keys.keptBooks()], args) as Promise<[string, string?]>;
      const [kind, owner] = await withTimeout(found, remainingMs(deadline), `Redis at ${this.redis.where}`);
      if (kind === 'kept') return { kind: 'kept' };
      if (kind === 'full') return { kind: 'full', bound: owner === 'key' ? 'key' : 'store' };
      if (kind !== 'owner' || owner === this.instanceId) return { kind: 'absent' }; // ours but not held: a stale record
      const delivery = await this.bus.askInstance(owner!, key, message, deadline);
      // `gone`: the holder gave the key up meanwhile; look once more (the message may now be kept).
      if (delivery !== 'gone') return delivery;
      if (attempt === 2) return { kind: 'absent' };
    }
  }

  onMessage(handler: MessageHandler): void {
    this.bus.handler = handler;
  }

  publish(topic: string, message: BusMessage): void {
    const text = JSON.stringify(message);
    if (this.state !== 'started') return;
    this.redis.commands.publish(this.keys.topic(topic), text).catch((error: unknown) =>
      this.logger.debug({ topic, err: describeError(error) }, 'topic message not published (Redis away)'),
    );
  }

  subscribe(topic: string, listener: (message: BusMessage) => void): () => void {
    return this.topics.subscribe(topic, listener);
  }

  rateBucket(name: string, rule: RateLimitRule): RateBucket {
    if (!(Number.isInteger(rule.limit) && rule.limit > 0) || !(rule.windowMs > 0)) {
      throw new TypeError(`A rate limit needs a positive integer limit and a positive windowMs; got ${JSON.stringify(rule)}.`);
    }
    const run = async (key: string, mode: 'hit' | 'peek') => Number(await this.run(RATE, [this.keys.rate(name, key)], [rule.limit, rule.windowMs, mode]));
    return { rule, hit: (key) => run(key, 'hit'), retryAfterMs: (key) => run(key, 'peek') };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const givenBack = this.state === 'started' ? this.leases.releaseAll() : this.leases.forget();
    this.stop('closed');
    await givenBack;
    this.disconnect();
  }

  /** @internal Test hook: drops both connections without giving anything back and stops renewing, as SIGKILL would. */
  crash(): void {
    if (this.state === 'closed') return;
    this.leases.forget();
    this.stop('crashed');
    this.disconnect();
  }

  private async connect(): Promise<void> {
    const { commands, subscriber, where } = this.redis;
    try {
      const ready = async () => {
        await Promise.all([commands.connect(), subscriber.connect()]);
        await commands.ping();
        await this.subscribeAll(true);
      };
      await withTimeout(ready(), this.connectTimeoutMs, `Redis at ${where}`);
    } catch (error) {
      this.disconnect();
      throw new CallstreamError('COORDINATION_UNAVAILABLE', `Cannot reach Redis at ${where}: ${describeError(error)}`, {
        cause: error,
        hint: 'Check that Redis runs and that its URL (REDIS_URL or --redis) is right.',
      });
    }
    if (this.state === 'closed') return;
    this.state = 'started';
    this.leases.start(this.renewEveryMs);
    this.logger.debug({ redis: where }, 'coordinating through Redis');
  }

  /** Runs a script for a caller: any failure is COORDINATION_UNAVAILABLE. */
  private async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (this.state !== 'started') {
      throw new CallstreamError('COORDINATION_UNAVAILABLE', `Coordination is ${this.state === 'new' ? 'not started (call start())' : 'closed'}.`);
    }
    let result: unknown;
    try {
      result = await script.run(this.redis.commands, keys, args);
    } catch (error) {
      this.outage.trouble({ redis: this.redis.where, script: script.name, err: describeError(error) }, OUTAGE);
      throw unavailable(error, this.redis.where);
    }
    this.answersAgain();
    return result;
  }

  /** Says once that Redis answers again, when both connections are up after an outage. */
  private answersAgain(): void {
    if (this.outage.down && this.healthy) this.outage.recovered({ redis: this.redis.where }, 'Redis answers again: putting back the leases this instance holds');
  }

  /** Records a place as this instance's (renewed from now on); one taken while closing is given back at once. */
  private hold(id: string, transport: TransportKind, held: HeldPlace): Place {
    this.leases.holdPlace(id, held);
    if (this.state !== 'started') this.leases.releasePlace(id);
    return { id, transport, release: () => this.leases.releasePlace(id) };
  }

  /** Subscribes this instance's channel and every topic listened to (again after a reconnection). */
  private async subscribeAll(initial = false): Promise<void> {
    try {
      await this.redis.subscriber.subscribe(this.keys.instance(this.instanceId), ...this.topics.channels());
    } catch (error) {
      if (initial) throw error;
      this.outage.trouble({ redis: this.redis.where, err: describeError(error), trouble: 'could not subscribe again (retried on the next reconnection)' }, OUTAGE);
    }
  }

  private stop(reason: 'closed' | 'crashed'): void {
    this.state = 'closed';
    this.topics.clear();
    this.bus.failAll(new CallstreamError('COORDINATION_UNAVAILABLE', `Coordination ${reason} while waiting for an answer.`));
  }

  private disconnect(): void {
    this.redis.commands.disconnect();
    this.redis.subscriber.disconnect();
  }
}

function newId(): string {
  return randomBytes(12).toString('base64url');
}

/** One parsed JSON value, or none (logged) when the text is not JSON. */
function parseJson(text: string, logger: Logger): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch {
    logger.debug({ text: text.slice(0, 100) }, 'unreadable kept message dropped');
    return [];
  }
}
