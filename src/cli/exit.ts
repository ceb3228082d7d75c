import { CallstreamError } from '../errors.js';

/** The CLI's exit codes (also listed in `--help`). */
export const EXIT = {
  OK: 0,
  /** Something failed while running: the tunnel, the network, Redis out of reach, an unexpected error. */
  FAILURE: 1,
  /** The command line was wrong. */
  USAGE: 2,
  /** Refused: Twilio said no, or the configuration cannot work (credentials, number, state file). */
  REFUSED: 3,
  /** `callstream call`: the callee was busy. */
  CALL_BUSY: 4,
  /** `callstream call`: nobody answered. */
  CALL_NOT_ANSWERED: 5,
  /** `callstream call`: the call failed, was canceled, or ended before reaching the handler. */
  CALL_FAILED: 6,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  ok (also after Ctrl-C or SIGTERM once everything was put back)
  1  runtime failure (tunnel, network, Redis out of reach, unexpected error)
  2  usage error (unknown command or option, bad value)
  3  refused (Twilio refused, or the configuration cannot work: credentials, number, state file)
`;

/** A mistake on the command line: exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint = 'run "callstream --help" for the commands and options.',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code an error deserves. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof CallstreamError && (error.code === 'CONFIG_ERROR' || error.code === 'TWILIO_ERROR')) return EXIT.REFUSED;
  return EXIT.FAILURE;
}

/** Prints an error as one line, plus a `hint:` line when there is one. */
export function reportError(error: unknown, write: (text: string) => void = (text) => process.stderr.write(text)): void {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  write(`callstream: ${message}\n`);
  const hint = error instanceof UsageError || error instanceof CallstreamError ? error.hint : undefined;
  if (hint) write(`hint: ${hint}\n`);
}
