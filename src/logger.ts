import { pino, type Logger as PinoLogger } from 'pino';

/** callstream's structured logger (pino). Child loggers carry `sessionId` and `transport`. */
export type Logger = PinoLogger;

/**
 * Creates the default logger: JSON lines on stdout, level from `LOG_LEVEL` (default `info`), and
 * secrets redacted wherever they appear as fields.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'callstream',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: ['authToken', 'secret', 'signature', '*.authToken', '*.secret', '*.signature', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
