import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DEMO_HANDLER, DEMO_HANDLERS } from '../../handlers/index.js';
import { UsageError } from './exit.js';

/** Runs a command's `parseArgs`: unknown options and stray arguments become usage errors. */
export function parseOrExplain<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message, `run "callstream ${command} --help" for its options.`);
  }
}

/** A port from a flag or the environment: 0-65535. */
export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid port "${value}".`, 'use a number between 0 and 65535 (0 picks a free port).');
  }
  return port;
}

/** A positive number of seconds, in ms. */
export function parseSeconds(value: string | undefined, fallbackMs: number, flag: string): number {
  if (value === undefined) return fallbackMs;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`invalid ${flag} "${value}".`, 'give a positive number of seconds.');
  return seconds * 1000;
}

/** A demo handler name (handlers/demo.ts), checked against the known ones. */
export function handlerName(value: string | undefined): string {
  const name = value || DEFAULT_DEMO_HANDLER;
  const known = Object.keys(DEMO_HANDLERS);
  if (!known.includes(name)) throw new UsageError(`unknown handler "${name}".`, `choose one of: ${known.join(', ')}.`);
  return name;
}

/** Loads `.env` from the working directory into process.env; variables already set win. */
export function loadDotEnv(dir = process.cwd()): void {
  const file = path.join(dir, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
