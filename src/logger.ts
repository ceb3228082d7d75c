import { type DestinationStream, pino, type Logger as PinoLogger } from 'pino';

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

/**
 * Creates the default logger: JSON lines on stdout (or `destination`), level from `LOG_LEVEL`
 * (default `info`), and secrets redacted wherever they appear as fields (REDACT_PATHS).
 */
export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const settings = {
    name: options.name ?? 'callstream',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
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
