import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_DEMO_HANDLER, DEMO_HANDLERS } from '../../handlers/index.js';
import { UsageError } from './exit.js';

/** A command's options, as `parseArgs` takes them. */
type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The values `parseArgs` gives for `options` (strict: only those options, no positionals). */
export type ParsedOptions<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * Parses a command's arguments against its options. Every mistake is a usage error in callstream's
 * words, never the parser's: an unknown option, a stray argument, a flag that needs a value and got
 * none (or the next flag), a switch given a value. A value may start with one dash (`--port -1` is
 * then an invalid port, said as such).
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(command: string, args: string[], options: O): ParsedOptions<O> {
  const hint = `run "callstream ${command} --help" for its options.`;
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const canonical: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}".`, hint);
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!spec) throw new UsageError(`unknown option ${token.rawName}.`, hint);
    const flag = `--${token.name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${flag} takes no value.`, hint);
      canonical.push(flag);
    } else if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      throw new UsageError(`${flag} needs a value.`, `write ${flag} VALUE (or ${flag}=VALUE); ${hint}`);
    } else {
      canonical.push(`${flag}=${token.value}`);
    }
  }
  // Every token is known and well formed now: the strict parse cannot fail, and gives typed values.
  return parseArgs({ args: canonical, options, strict: true, allowPositionals: false }).values;
}

/** A port from a flag, else the environment variable PORT (an empty one counts as unset): 0-65535. */
export function parsePort(flag: string | undefined, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const [value, source] = flag !== undefined ? [flag, '--port'] : [env.PORT, 'PORT'];
  if (value === undefined || (value === '' && source === 'PORT')) return fallback;
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid ${source} "${value}".`, PORT_HINT);
  }
  return port;
}

/** What to do about a port that is not one. */
export const PORT_HINT = 'use a number between 0 and 65535 (0 picks a free port).';

/** A positive number of seconds, in ms. */
export function parseSeconds(value: string | undefined, fallbackMs: number, flag: string): number {
  if (value === undefined) return fallbackMs;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`invalid ${flag} "${value}".`, 'give a positive number of seconds.');
  return seconds * 1000;
}

/** A demo handler name (handlers/demo.ts) from a flag, else CALLSTREAM_HANDLER, checked against the known ones. */
export function handlerName(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const [name, source] = flag !== undefined ? [flag, '--handler'] : [env.CALLSTREAM_HANDLER || DEFAULT_DEMO_HANDLER, 'CALLSTREAM_HANDLER'];
  const known = Object.keys(DEMO_HANDLERS);
  if (!known.includes(name)) throw new UsageError(`invalid ${source} "${name}".`, `choose one of: ${known.join(', ')}.`);
  return name;
}

/** Loads `.env` from the working directory into process.env; variables already set win. */
export function loadDotEnv(dir = process.cwd()): void {
  const file = path.join(dir, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
