import cluster from 'node:cluster';
import { DEFAULT_DEMO_HANDLER, DEMO_HANDLERS } from '../../handlers/index.js';
import { REALTIME_DEMO_LIMITS } from '../../handlers/demo.js';
import { parseCommandLine } from './args.js';
import { AUTH_TOKEN_OPTION, authTokenHelp, demoProtection, refuseUnprotectedDemo, whyPublic } from './demo-access.js';
import { applyRealtimeFlags, REALTIME_OPTIONS, type RealtimeFlags, realtimeHelp } from './realtime-flags.js';
import { clusterOption, isServeWorker } from './cluster-option.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { checkPortFree } from './port-check.js';
import { serveUntilSignalled } from './serve.js';
import { SERVE_DEFAULTS, type ServeFlags, serveSettings } from './serve-settings.js';
import { WorkerPool } from './workers.js';

export const SERVE_HELP = `Usage:
  callstream serve [--handler NAME] [--host HOST] [--port PORT] [--trust-proxy] [--auth-token TOKEN]
                   [--concurrency-limit N] [--time-limit SECONDS] [--workers N] [--redis URL] [--instance-id ID]
                   [--realtime-model M] [--realtime-voice V] [--realtime-instructions TEXT]

Starts the demo server: the handler's routes and page at the root. SIGTERM or Ctrl-C drains live
sessions (DRAIN_MS, default ${SERVE_DEFAULTS.drainMs}) and exits 0.

On a public host (any --host but loopback, or PUBLIC_URL set), desk and openai-realtime start only
with CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN, conference with TWILIO_AUTH_TOKEN and the access
token or CALLSTREAM_ROOM_PIN (exit 3 otherwise); on 127.0.0.1 they start with a warning.

Options:
  --handler            Demo handler to serve (env CALLSTREAM_HANDLER; default ${DEFAULT_DEMO_HANDLER}).
                       One of: ${Object.keys(DEMO_HANDLERS).join(', ')}.
                       conference: CALLSTREAM_ROOM_PIN (4-12 digits) makes every room ask for it.
  --host               Interface to listen on (env HOST; default ${SERVE_DEFAULTS.host}).
  --port               Port (env PORT; default ${SERVE_DEFAULTS.port}; 0 picks a free one).
  --trust-proxy        Honour X-Forwarded-Proto/Host (env TRUST_PROXY=1; default off; on Heroku-style hosts).
${authTokenHelp(23)}
  --concurrency-limit  Sessions at once, all transports, the whole deployment (env CONCURRENCY_LIMIT; default unlimited;
                       ${REALTIME_DEMO_LIMITS.concurrencyLimit} with openai-realtime).
  --time-limit         Seconds before a session is ended (env TIME_LIMIT; default none; ${REALTIME_DEMO_LIMITS.timeLimit} with openai-realtime).
  --workers            Processes sharing the port, e.g. one per core (env WEB_CONCURRENCY; default ${SERVE_DEFAULTS.workers}).
                       They serve as one: one limit, call tokens and sessions reachable from any of them,
                       through this process (their primary) or, with --redis, through Redis. A worker that
                       dies is restarted; one that cannot start stops them all, with its exit code.
  --redis              Cluster mode: a redis:// or rediss:// URL (env REDIS_URL; default none: state in memory).
                       Instances on any number of machines then serve as one. Redis out of reach at start: exit 1.
  --instance-id        This instance's id (env INSTANCE_ID; default generated, from DYNO when it is set).
                       With --workers, each worker's is the id (default <host>-<pid>) and ".w<N>".
${realtimeHelp(23)}
  -h, --help           Show this help.

Environment: PUBLIC_URL, TWILIO_AUTH_TOKEN (signature checks), METRICS_TOKEN (a bearer token
for /metrics in place of the access token; public without either), CALLSTREAM_ROOM_PIN (the
conference demo's room PIN), DRAIN_MS, LOG_LEVEL, REDIS_TLS_REJECT_UNAUTHORIZED=0 (accept a
rediss:// server's self-signed certificate, as Heroku Redis has).

${EXIT_CODES_HELP}`;

/** The command's options (its --help lists each; test/cli/help.test.ts holds them to it). */
export const OPTIONS = {
  handler: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'trust-proxy': { type: 'boolean' },
  'concurrency-limit': { type: 'string' },
  'time-limit': { type: 'string' },
  workers: { type: 'string' },
  redis: { type: 'string' },
  'instance-id': { type: 'string' },
  ...AUTH_TOKEN_OPTION,
  ...REALTIME_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags of `callstream serve`; unknown ones are usage errors. */
export function parseServeArgs(args: string[]): ServeFlags & RealtimeFlags & { help?: boolean } {
  return parseCommandLine('serve', args, OPTIONS);
}

/** `callstream serve`: resolves with an exit code, or never (the server runs until a signal). */
export async function serveCommand(args: string[]): Promise<number | undefined> {
  const values = parseServeArgs(args);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return EXIT.OK;
  }
  applyRealtimeFlags(values);
  const settings = serveSettings(values);
  // Before any worker is forked: one refusal, not one per worker.
  refuseUnprotectedDemo(settings.handler, whyPublic(settings.host, process.env.PUBLIC_URL), demoProtection(settings.accessToken, process.env.TWILIO_AUTH_TOKEN));
  if (!isServeWorker()) await checkPortFree(settings.host, settings.port);
  if (cluster.isPrimary && settings.workers > 1) {
    new WorkerPool(settings).start();
    return undefined;
  }
  await serveUntilSignalled({ ...settings, cluster: clusterOption(settings) }, { inWorker: isServeWorker() });
  return undefined;
}
