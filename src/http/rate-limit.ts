import { isIPv6 } from 'node:net';
import type { Context, Middleware } from 'koa';
import type { Clock } from '../clock.js';
import { CallstreamError, isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { statusOf } from './errors.js';

/** A per-key budget: `limit` requests, refilled evenly over `windowMs` (a token bucket). */
export interface RateLimitRule {
  /** Requests allowed in a burst (and per window on average). */
  limit: number;
  /** Time to refill the whole budget (ms). */
  windowMs: number;
}

/** A token bucket per key: `limit` requests, refilled evenly over `windowMs`. */
export interface RateBucket {
  readonly rule: RateLimitRule;
  /** Counts one request for `key`: 0 when within the budget, else the milliseconds until the next is. */
  hit(key: string): Promise<number>;
  /** Milliseconds until `key` may make a counted request again (0: now). Counts nothing. */
  retryAfterMs(key: string): Promise<number>;
}

interface Bucket {
  tokens: number;
  /** Clock time of the last refill. */
  at: number;
}

/**
 * Per-key (per-IP) token buckets on an injectable clock. A key starts with `limit` tokens, each
 * counted request takes one, and tokens come back at `limit / windowMs`. Memory stays bounded: full
 * buckets are forgotten, and past `maxKeys` the oldest keys go first.
 */
export class RateLimiter {
  /** Requests refused so far (for logs and tests). */
  refused = 0;
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly rule: RateLimitRule,
    private readonly clock: Clock,
    private readonly maxKeys = 10_000,
  ) {
    if (!(Number.isInteger(rule.limit) && rule.limit > 0) || !(rule.windowMs > 0)) {
      throw new TypeError(`A rate limit needs a positive integer limit and a positive windowMs; got ${JSON.stringify(rule)}.`);
    }
    this.perMs = rule.limit / rule.windowMs;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** Milliseconds until `key` may make a counted request again (0: it may now). Counts nothing. */
  retryAfterMs(key: string): number {
    const bucket = this.refill(key);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  /**
   * Counts one request for `key`. Returns 0 when it was within the budget, else the milliseconds
   * until the next one would be (the request is over the limit and counted as refused).
   */
  hit(key: string): number {
    let bucket = this.refill(key);
    if (!bucket) {
      this.evictIfFull();
      bucket = { tokens: this.rule.limit, at: this.clock.now() };
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    this.refused++;
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  /** Brings a key's bucket up to date; forgets it once full again (it behaves as a new key). */
  private refill(key: string): Bucket | undefined {
    const bucket = this.buckets.get(key);
    if (!bucket) return undefined;
    const now = this.clock.now();
    bucket.tokens = Math.min(this.rule.limit, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens >= this.rule.limit) {
      this.buckets.delete(key);
      return undefined;
    }
    return bucket;
  }

  /** At `maxKeys`, the key seen first goes (a Map keeps insertion order). */
  private evictIfFull(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * The key a client is limited by: its IPv4 address (also when IPv4-mapped), or the /64 prefix of an
 * IPv6 address (one host commonly holds a whole /64, so per-address keys would be free to rotate).
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function refuse(ctx: Context, retryMs: number): never {
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(retryMs / 1000))));
  throw new CallstreamError('RATE_LIMITED', 'Too many requests from this address: wait for the time in Retry-After, then try again.');
}

/**
 * Asks a shared bucket; a store out of reach lets the request through (the places it would take are
 * refused anyway while the store is away) and says so once a minute at most.
 */
function asking(bucket: RateBucket, logger: Logger): (ask: (key: string) => Promise<number>, key: string) => Promise<number> {
  let lastWarned = -Infinity;
  return async (ask, key) => {
    try {
      return await ask.call(bucket, key);
    } catch (error) {
      if (!isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) throw error;
      if (performance.now() - lastWarned > 60_000) {
        lastWarned = performance.now();
        logger.warn({ reason: error.message }, 'rate limits not applied: the coordination store is unavailable');
      }
      return 0;
    }
  };
}

/**
 * Refuses a client whose budget is spent (429 with Retry-After) before the route runs; the requests
 * `counts(ctx)` selects (after they ran, failed or not) take from its budget.
 */
export function limitRequests(bucket: RateBucket | undefined, logger: Logger, counts: (ctx: Context) => boolean = () => true): Middleware {
  if (!bucket) return (_ctx, next) => next();
  const ask = asking(bucket, logger);
  return async (ctx, next) => {
    const key = clientKey(ctx.ip);
    const wait = await ask(bucket.retryAfterMs, key);
    if (wait > 0) refuse(ctx, wait);
    try {
      await next();
    } catch (error) {
      await ask(bucket.hit, key);
      throw error;
    }
    if (counts(ctx)) await ask(bucket.hit, key);
  };
}

/**
 * Lets every request run and counts only those answered with `status` (e.g. 403 for a bad Twilio
 * signature, thrown or set by the route): a failure over the budget is answered 429 with Retry-After
 * instead. Requests that succeed are never limited, so a shared address (Twilio's) that sends valid
 * requests is never refused.
 */
export function limitFailures(bucket: RateBucket | undefined, status: number, logger: Logger): Middleware {
  if (!bucket) return (_ctx, next) => next();
  const ask = asking(bucket, logger);
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (statusOf(error) === status) {
        const wait = await ask(bucket.hit, clientKey(ctx.ip));
        if (wait > 0) refuse(ctx, wait);
      }
      throw error;
    }
    if (ctx.status === status) {
      const wait = await ask(bucket.hit, clientKey(ctx.ip));
      if (wait > 0) refuse(ctx, wait);
    }
  };
}
