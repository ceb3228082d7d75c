import { randomBytes } from 'node:crypto';
import { handlerName, PORT_HINT } from './args.js';
import { accessTokenFrom } from './demo-access.js';
import { UsageError } from './exit.js';

/** What `callstream serve` runs with when neither a flag nor the environment says otherwise. */
export const SERVE_DEFAULTS = {
  host: '0.0.0.0',
  port: 8000,
  drainMs: 10_000,
  workers: 1,
} as const;

/** More workers than this is a typo, not a machine. */
export const MAX_WORKERS = 128;

/** The flags of `callstream serve` (as parseArgs gives them). */
export interface ServeFlags {
  handler?: string;
  host?: string;
  port?: string;
  'trust-proxy'?: boolean;
  redis?: string;
  'instance-id'?: string;
  'concurrency-limit'?: string;
  'time-limit'?: string;
  workers?: string;
  'auth-token'?: string;
}

/** Everything `callstream serve` runs with, from its flags and the environment. */
export interface ServeSettings {
  handler: string;
  host: string;
  port: number;
  trustProxy: boolean;
  /** How long live sessions get to end on SIGTERM before they are cut (ms). */
  drainMs: number;
  /** Cluster mode: the Redis URL (never logged: it may carry a password). */
  redis: string | undefined;
  /** For a rediss:// URL: false accepts a self-signed certificate (Heroku Redis); REDIS_TLS_REJECT_UNAUTHORIZED=0. */
  redisTlsRejectUnauthorized: boolean;
  /** This instance's id (with workers: the base of theirs); undefined leaves it to the coordination. */
  instanceId: string | undefined;
  /** Sessions at once, deployment-wide; undefined: unlimited. */
  concurrencyLimit: number | undefined;
  /** Seconds before a session is ended; undefined: none. */
  timeLimit: number | undefined;
  /** Processes serving the port (node:cluster); 1 serves in this process. */
  workers: number;
  /** The Stream's access token (never logged); undefined: none. */
  accessToken: string | undefined;
}

/** An option's value: the flag's, else the environment variable's (an empty one counts as unset). */
interface Given {
  value: string;
  /** How to name it in an error: `--flag` or `ENV_VAR`. */
  source: string;
}

function given(flag: string, value: string | undefined, envName: string, env: NodeJS.ProcessEnv): Given | undefined {
  if (value !== undefined) return { value, source: `--${flag}` };
  const fromEnv = env[envName];
  return fromEnv ? { value: fromEnv, source: envName } : undefined;
}

/** Reads the settings of `callstream serve`; a bad value is a usage error naming the flag or variable. */
export function serveSettings(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const port = given('port', flags.port, 'PORT', env);
  const drain = env.DRAIN_MS ? { value: env.DRAIN_MS, source: 'DRAIN_MS' } : undefined;
  const limit = given('concurrency-limit', flags['concurrency-limit'], 'CONCURRENCY_LIMIT', env);
  const timeLimit = given('time-limit', flags['time-limit'], 'TIME_LIMIT', env);
  const workers = given('workers', flags.workers, 'WEB_CONCURRENCY', env);
  return {
    handler: handlerName(flags.handler, env),
    host: flags.host ?? (env.HOST || SERVE_DEFAULTS.host),
    port: port ? integer(port, 0, 65535, PORT_HINT) : SERVE_DEFAULTS.port,
    trustProxy: flags['trust-proxy'] ?? ['1', 'true', 'yes'].includes((env.TRUST_PROXY ?? '').toLowerCase()),
    drainMs: drain ? integer(drain, 0, 3_600_000, 'give milliseconds, 0 to 3600000.') : SERVE_DEFAULTS.drainMs,
    redis: redisUrl(given('redis', flags.redis, 'REDIS_URL', env)),
    redisTlsRejectUnauthorized: env.REDIS_TLS_REJECT_UNAUTHORIZED !== '0',
    instanceId: instanceId(given('instance-id', flags['instance-id'], 'INSTANCE_ID', env), env.DYNO),
    concurrencyLimit: limit ? integer(limit, 1, Number.MAX_SAFE_INTEGER, 'give a whole number of sessions, at least 1 (leave it unset for no limit).') : undefined,
    timeLimit: timeLimit ? seconds(timeLimit) : undefined,
    workers: workers ? integer(workers, 1, MAX_WORKERS, `give a whole number of processes, 1 to ${MAX_WORKERS}.`) : SERVE_DEFAULTS.workers,
    accessToken: accessTokenFrom(flags['auth-token'], env),
  };
}

function integer({ value, source }: Given, min: number, max: number, hint: string): number {
  const number = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) throw new UsageError(`invalid ${source} "${value}".`, hint);
  return number;
}

function seconds({ value, source }: Given): number {
  const number = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!(number > 0) || !Number.isFinite(number)) throw new UsageError(`invalid ${source} "${value}".`, 'give a positive number of seconds (leave it unset for none).');
  return number;
}

/** A redis:// or rediss:// URL. Errors never show it: it may carry a password. */
function redisUrl(option: Given | undefined): string | undefined {
  if (!option) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(option.value).protocol;
  } catch {
    // said below
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    const what = protocol ? `a ${protocol} URL` : 'not a URL';
    throw new UsageError(`invalid ${option.source}: ${what}.`, 'give a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (Heroku Redis sets REDIS_URL).');
  }
  return option.value;
}

/** Letters, digits and `._:-`, as ids travel in keys and logs. */
const INSTANCE_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * The instance id asked for; else Heroku's dyno name (`web.1`) with a random suffix, since a
 * restarting dyno and its replacement run side by side under the same name; else undefined.
 */
function instanceId(option: Given | undefined, dyno: string | undefined): string | undefined {
  if (option) {
    if (!INSTANCE_ID.test(option.value)) throw new UsageError(`invalid ${option.source} "${option.value.slice(0, 120)}".`, 'use 1-100 letters, digits, ".", "_", ":" or "-".');
    return option.value;
  }
  if (dyno && INSTANCE_ID.test(dyno)) return `${dyno.slice(0, 90)}-${randomBytes(3).toString('hex')}`;
  return undefined;
}
