#!/usr/bin/env node
import { EXIT, EXIT_CODES_HELP, exitCodeFor, reportError, UsageError } from './exit.js';
import { CALL_HELP, callCommand } from './call-command.js';
import { FASTPHONE_HELP, fastphoneCommand } from './fastphone-command.js';
import { usageLines } from './help.js';
import { SERVE_HELP, serveCommand } from './serve-command.js';

/** The top-level help: every command's usage lines, as its own --help gives them. */
export const USAGE = `callstream: serve a voice handler to phones, browsers and programs.

Usage:
${usageLines(SERVE_HELP)}
${usageLines(FASTPHONE_HELP)}
${usageLines(CALL_HELP)}

Commands:
  serve       Start the demo server (the handler's routes and page at the root), alone, as N workers, or in a cluster.
  fastphone   Serve the demo handler on one of your Twilio numbers through a public tunnel.
  call        Place a phone call whose answer talks to the demo handler; hang up on Ctrl-C.

Run "callstream COMMAND --help" for a command's options.

${EXIT_CODES_HELP}`;

const COMMANDS: Record<string, (args: string[]) => Promise<number | undefined>> = {
  serve: serveCommand,
  fastphone: fastphoneCommand,
  call: callCommand,
};

/** Runs a command; resolves with its exit code, or undefined while a server runs until a signal. */
async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? EXIT.OK : EXIT.USAGE;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}".`, 'run "callstream --help" for the commands.');
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code === undefined) return;
    process.exitCode = code;
    // Everything is closed by now; should anything still hold the event loop, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    reportError(error);
    const code = exitCodeFor(error);
    process.exitCode = code;
    // What failed may leave something holding the event loop (a client retrying, a worker's IPC channel).
    setTimeout(() => process.exit(code), 2000).unref();
  },
);
