import { Redis, type RedisOptions } from 'ioredis';
import { CallstreamError, describeError } from '../errors.js';
import { GuardedConnector } from './redis-connector.js';

/**
 * The two connections of RedisCoordination: one for commands, one subscribed (pub/sub). Commands fail
 * fast while Redis is away (no offline queue, no retry of a command whose connection dropped), and
 * both reconnect forever with a backoff capped at 2 s, so service comes back on its own.
 */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  /** Where Redis is, for messages: the URL without its password, or host:port. */
  where: string;
}

const RECONNECT_CAP_MS = 2000;

const OURS: RedisOptions = {
  Connector: GuardedConnector,
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResubscribe: false, // RedisCoordination subscribes its channels again itself on each `ready`
  retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 5), RECONNECT_CAP_MS),
};

/**
 * Opens (lazily: `connect()` starts them) the command and subscriber connections to `redis`, a URL or
 * an ioredis client. A client is duplicated, never used or closed itself: it stays its owner's.
 */
export function openConnections(redis: string | Redis, options: { connectTimeoutMs: number; commandTimeoutMs: number }): RedisConnections {
  const ours: RedisOptions = { ...OURS, connectTimeout: options.connectTimeoutMs, commandTimeout: options.commandTimeoutMs };
  if (typeof redis === 'string') {
    return { commands: new Redis(redis, ours), subscriber: new Redis(redis, ours), where: redactUrl(redis) };
  }
  return { commands: redis.duplicate(ours), subscriber: redis.duplicate(ours), where: describeClient(redis) };
}

/** The URL without its password (`redis://user:***@host:port`); unparsable input is not echoed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}

function describeClient(client: Redis): string {
  const { host, port, path } = client.options as RedisOptions & { path?: string };
  return path ?? `${host ?? 'localhost'}:${port ?? 6379}`;
}

/** Settles like `promise`, or rejects with COORDINATION_UNAVAILABLE after `ms` (saying what did not answer). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallstreamError('COORDINATION_UNAVAILABLE', `${what} did not answer within ${ms} ms.`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Any failure of a Redis command, as the error callers see: COORDINATION_UNAVAILABLE. */
export function unavailable(error: unknown, where: string): CallstreamError {
  if (error instanceof CallstreamError) return error;
  return new CallstreamError('COORDINATION_UNAVAILABLE', `Redis at ${where} cannot be used now: ${describeError(error)}`, {
    cause: error,
    hint: 'New sessions are refused until Redis answers again; live sessions go on.',
  });
}
