#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { serveUntilSignalled } from './serve.js';

const USAGE = `callstream: serve a voice handler to phones, browsers and programs.

Usage:
  callstream serve [--handler NAME] [--host HOST] [--port PORT]

Commands:
  serve       Start the demo server (the handler's routes and page at the root).

Options:
  --handler   Demo handler to serve (env CALLSTREAM_HANDLER; default echo).
  --host      Interface to listen on (env HOST; default 0.0.0.0).
  --port      Port (env PORT; default 8000).
  --trust-proxy  Honour X-Forwarded-Proto/Host (env TRUST_PROXY=1; on Heroku-style hosts).
  -h, --help  Show this help.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command !== 'serve') {
    process.stderr.write(`callstream: unknown command "${command}".\nhint: run "callstream --help" for the commands.\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      handler: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = Number(values.port ?? process.env.PORT ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`callstream: invalid port "${values.port ?? process.env.PORT}".\nhint: use a number between 0 and 65535.\n`);
    return 2;
  }
  await serveUntilSignalled({
    handler: values.handler ?? process.env.CALLSTREAM_HANDLER ?? 'echo',
    host: values.host ?? process.env.HOST ?? '0.0.0.0',
    port,
    trustProxy: values['trust-proxy'] ?? ['1', 'true', 'yes'].includes((process.env.TRUST_PROXY ?? '').toLowerCase()),
    drainMs: Number(process.env.DRAIN_MS ?? 10_000),
  });
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`callstream: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
