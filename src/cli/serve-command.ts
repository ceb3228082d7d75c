import { parseArgs } from 'node:util';
import { handlerName, parseOrExplain, parsePort } from './args.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { serveUntilSignalled } from './serve.js';

export const SERVE_HELP = `Usage:
  callstream serve [--handler NAME] [--host HOST] [--port PORT] [--trust-proxy]

Starts the demo server: the handler's routes and page at the root. SIGTERM or Ctrl-C drains live
sessions (DRAIN_MS, default 10000) and exits 0.

Options:
  --handler      Demo handler to serve (env CALLSTREAM_HANDLER; default echo).
  --host         Interface to listen on (env HOST; default 0.0.0.0).
  --port         Port (env PORT; default 8000).
  --trust-proxy  Honour X-Forwarded-Proto/Host (env TRUST_PROXY=1; on Heroku-style hosts).
  -h, --help     Show this help.

Environment: PUBLIC_URL, TWILIO_AUTH_TOKEN (signature checks), METRICS_TOKEN (a bearer token
for /metrics, public without it), DRAIN_MS, LOG_LEVEL.

${EXIT_CODES_HELP}`;

/** `callstream serve`: resolves with an exit code, or never (the server runs until a signal). */
export async function serveCommand(args: string[]): Promise<number | undefined> {
  const { values } = parseOrExplain('serve', () =>
    parseArgs({
      args,
      options: {
        handler: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'trust-proxy': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }),
  );
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return EXIT.OK;
  }
  await serveUntilSignalled({
    handler: handlerName(values.handler ?? process.env.CALLSTREAM_HANDLER),
    host: values.host ?? process.env.HOST ?? '0.0.0.0',
    port: parsePort(values.port ?? process.env.PORT, 8000),
    trustProxy: values['trust-proxy'] ?? ['1', 'true', 'yes'].includes((process.env.TRUST_PROXY ?? '').toLowerCase()),
    drainMs: Number(process.env.DRAIN_MS ?? 10_000),
  });
  return undefined;
}
