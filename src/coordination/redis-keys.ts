/** The keys and channels of one deployment under its prefix (the layout is described in redis.ts). */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  /** The sorted set of places, scored by lease expiry. */
  places(): string {
    return `${this.prefix}places`;
  }

  token(token: string): string {
    return `${this.prefix}token:${token}`;
  }

  callSid(callSid: string): string {
    return `${this.prefix}callsid:${callSid}`;
  }

  /** The sorted set of CallSids remembered, scored by when each is forgotten. */
  rememberedCalls(): string {
    return `${this.prefix}remembered-calls`;
  }

  owner(key: string): string {
    return `${this.prefix}owner:${key}`;
  }

  kept(key: string): string {
    return `${this.prefix}kept:${key}`;
  }

  /** The kept lists' bookkeeping: their expiries (ZSET), their costs (HASH) and the total (STRING). */
  keptBooks(): [index: string, costs: string, total: string] {
    return [`${this.prefix}kept-index`, `${this.prefix}kept-costs`, `${this.prefix}kept-total`];
  }

  rate(name: string, key: string): string {
    return `${this.prefix}rate:${name}:${key}`;
  }

  /** The channel of one instance: asks for its keys, replies to its asks. */
  instance(instanceId: string): string {
    return `${this.prefix}instance:${instanceId}`;
  }

  topic(topic: string): string {
    return `${this.prefix}topic:${topic}`;
  }

  /** The topic a channel carries, or undefined when it is not a topic channel. */
  topicOf(channel: string): string | undefined {
    const prefix = `${this.prefix}topic:`;
    return channel.startsWith(prefix) ? channel.slice(prefix.length) : undefined;
  }
}
