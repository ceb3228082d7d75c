import { type DestinationStream, pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

/** callstream's structured logger (pino). Child loggers carry `sessionId` and `transport`. */
export type Logger = PinoLogger;

const SECRET_FIELDS = ['authToken', 'apiSecret', 'secret', 'signature', 'token', 'callstreamToken', 'password', 'credential'];
const SECRET_HEADERS = ['authorization', 'cookie', '"x-twilio-signature"', '"x-callstream-secret"'];

/**
 * Fields pino replaces with `[redacted]` in callstream's default logger: secrets as fields (up to two
 * levels deep: `facts.customParameters.token`) and credential headers of logged requests. Give them to
 * your own pino logger (`redact: { paths: REDACT_PATHS }`) when you pass one as `logger`.
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  ...SECRET_HEADERS.flatMap((header) => [`headers[${header}]`, `*.headers[${header}]`]),
];

/** How the default logger writes: JSON lines, or readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * `LOG_FORMAT` when it says `json` or `pretty`; otherwise readable lines on a terminal (stdout is a
 * TTY) and JSON everywhere else (a pipe, a file, a log collector).
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): LogFormat {
  const asked = env.LOG_FORMAT?.toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  return isTTY ? 'pretty' : 'json';
}

/**
 * Creates the default logger: on stdout (or `destination`), JSON lines or readable ones (`logFormat`),
 * level from `LOG_LEVEL` (default `info`), and secrets redacted wherever they appear as fields
 * (REDACT_PATHS).
 */
export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream; format?: LogFormat } = {}): Logger {
  const settings = {
    name: options.name ?? 'callstream',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  const format = options.format ?? (options.destination ? 'json' : logFormat());
  if (format === 'pretty') {
    // In this thread (no transport worker), so a log line is out before the process exits.
    const lines = pretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: options.destination ?? 1 });
    return pino(settings, lines);
  }
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/**
 * A URL as callstream logs it: without its query string or fragment, where clients (and careless
 * proxies) put tokens and secrets. Text that is not a URL is cut at the first `?` or `#` all the same.
 */
export function urlForLog(url: string): string {
  return url.replace(/[?#][\s\S]*$/, '');
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
