import type { Redis } from 'ioredis';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OutageLog } from './outage-log.js';
import type { RedisKeys } from './redis-keys.js';
import { GIVE_BACK, RENEW } from './redis-scripts.js';

/** A place an instance holds: its member in the places set, and the CallSid it stands for (a taken call). */
export interface HeldPlace {
  member: string;
  callSid?: string;
}

/**
 * What one instance holds in Redis (places, claims) and keeps alive: every `renewEveryMs`, one
 * script renews every lease and puts back whatever is missing (after a Redis restart with empty data),
 * so a live session never loses its place for good. Giving back is fire-and-forget: what cannot be
 * given back lapses with its lease.
 */
export class Leases {
  private readonly places = new Map<string, HeldPlace>();
  private readonly claims = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private renewAgain = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly instanceId: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly outage: OutageLog,
    /** Called after each renewal Redis answered. */
    private readonly renewed: () => void = () => {},
  ) {}

  /** Renews every `everyMs` from now on. */
  start(everyMs: number): void {
    this.timer = setInterval(() => void this.renew(), everyMs);
    this.timer.unref();
  }

  holdPlace(id: string, place: HeldPlace): void {
    this.places.set(id, place);
  }

  releasePlace(id: string): void {
    const place = this.places.get(id);
    if (!place) return;
    this.places.delete(id);
    void this.giveBack([place], []);
  }

  holdClaim(key: string): void {
    this.claims.add(key);
  }

  holdsClaim(key: string): boolean {
    return this.claims.has(key);
  }

  releaseClaim(key: string): void {
    if (this.claims.delete(key)) void this.giveBack([], [key]);
  }

  /** Stops renewing and gives back everything at once (resolves when Redis has answered, or failed to). */
  async releaseAll(): Promise<void> {
    const places = [...this.places.values()];
    const claims = [...this.claims];
    this.forget();
    if (places.length > 0 || claims.length > 0) await this.giveBack(places, claims);
  }

  /** Stops renewing and forgets everything, giving nothing back (the leases lapse). */
  forget(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.places.clear();
    this.claims.clear();
  }

  /** Renews every lease held, in one round-trip; a renewal asked for while one runs follows it. */
  renew(): Promise<void> {
    if (this.renewing) {
      this.renewAgain = true;
      return this.renewing;
    }
    this.renewing = this.renewOnce().finally(() => {
      this.renewing = undefined;
      if (this.renewAgain) {
        this.renewAgain = false;
        void this.renew();
      }
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const places = [...this.places.values()];
    const claims = [...this.claims];
    if (places.length === 0 && claims.length === 0) return;
    const { keys, args } = this.holdings(places, claims);
    try {
      const lost = (await RENEW.run(this.redis, keys, args)) as number[];
      for (const index of lost) {
        const key = claims[index]!;
        if (this.claims.delete(key)) this.logger.warn({ key }, 'claim lost: another instance claimed the key while this one could not renew it');
      }
      this.renewed();
    } catch (error) {
      this.outage.trouble({ places: places.length, claims: claims.length, err: describeError(error) }, 'Redis unavailable: leases not renewed (put back once it answers)');
    }
  }

  private async giveBack(places: HeldPlace[], claims: string[]): Promise<void> {
    const { keys, args } = this.holdings(places, claims);
    try {
      await GIVE_BACK.run(this.redis, keys, args);
    } catch (error) {
      this.logger.debug({ places: places.length, claims: claims.length, err: describeError(error) }, 'not given back now: the leases lapse');
    }
  }

  /** The KEYS and ARGV layout of RENEW and GIVE_BACK (see redis-scripts.ts). */
  private holdings(places: HeldPlace[], claims: string[]): { keys: string[]; args: (string | number)[] } {
    const calls = places.filter((place): place is Required<HeldPlace> => Boolean(place.callSid));
    return {
      keys: [this.keys.places(), ...claims.map((key) => this.keys.owner(key)), ...calls.map((place) => this.keys.callSid(place.callSid))],
      args: [
        this.instanceId,
        this.leaseMs,
        places.length,
        claims.length,
        ...places.map((place) => place.member),
        ...calls.map((place) => `live|${place.member}`),
      ],
    };
  }
}
