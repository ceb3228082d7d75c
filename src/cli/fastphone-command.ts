import { parseArgs } from 'node:util';
import { createDemoStream } from '../../handlers/index.js';
import type { Fastphone } from '../../tunnels/fastphone.js';
import { describeOutcome, startFastphone } from '../../tunnels/fastphone.js';
import { DEFAULT_STATE_FILE } from '../../tunnels/fastphone-state.js';
import { restoreFromStateFile } from '../../tunnels/fastphone-restore.js';
import { FixedUrlTunnel } from '../../tunnels/fixed-url.js';
import { LocalTunnel, validateSubdomain } from '../../tunnels/localtunnel.js';
import type { Tunnel } from '../../tunnels/tunnel.js';
import { CallstreamError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { StreamOptions } from '../options.js';
import type { Stream } from '../stream.js';
import { checkTwilioCredentials, createTwilioClient, type TwilioCredentials, twilioCredentialsFromEnv } from '../twilio/client.js';
import { twilioIceServers, twilioRtcConfiguration } from '../twilio/ice-servers.js';
import { handlerName, loadDotEnv, parseOrExplain, parsePort, parseSeconds } from './args.js';
import { EXIT, EXIT_CODES_HELP, reportError, UsageError } from './exit.js';

export const FASTPHONE_HELP = `Usage:
  callstream fastphone [--number +15551234567] [--subdomain NAME] [--tunnel-host URL] [--public-url URL]
                       [--handler NAME] [--host HOST] [--port PORT] [--turn] [--insecure] [--state-file FILE]
  callstream fastphone --restore [--state-file FILE]

Serves a demo handler on one of your Twilio numbers: opens a public tunnel (localtunnel), points the
number's voice webhook at it, and prints what to call. Ctrl-C or SIGTERM puts the number's previous
settings back. After a crash, --restore does it from the state file.

Options:
  --number          The number to use (E.164). Default: the account's only number.
  --subdomain       Ask localtunnel for this name (4-63 of a-z, 0-9 and inner hyphens).
  --tunnel-host     Another localtunnel server (default https://localtunnel.me).
  --tunnel-timeout  Seconds to wait for the tunnel (default 15).
  --public-url      A URL that already reaches --host:--port (deployment, proxy, ngrok...): no tunnel.
  --handler         Demo handler (env CALLSTREAM_HANDLER; default echo).
  --host            Interface to listen on (env HOST; default 127.0.0.1).
  --port            Port (env PORT; default 8000; 0 picks a free one).
  --turn            Give browsers and the server Twilio TURN relays (Network Traversal Service).
  --insecure        Run without signature checks when only an API key is set (never for real use).
  --state-file      Where the number's previous settings are kept (default ${DEFAULT_STATE_FILE}).
  --restore         Put back the settings a crashed run left in the state file, then exit.
  -h, --help        Show this help.

Environment (also read from ./.env; variables already set win):
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   the account; the auth token also checks webhook signatures
  TWILIO_API_KEY, TWILIO_API_SECRET       REST with an API key (SK...) instead of the auth token
  TWILIO_REGION, TWILIO_EDGE              Twilio region and edge, as the twilio helper names them
  TWILIO_API_BASE_URL                     another REST base URL (tests, Twilio-compatible APIs)
  LOG_LEVEL                               pino level of the JSON log lines (default info)

${EXIT_CODES_HELP}`;

const OPTIONS = {
  number: { type: 'string' },
  subdomain: { type: 'string' },
  'tunnel-host': { type: 'string' },
  'tunnel-timeout': { type: 'string' },
  'public-url': { type: 'string' },
  handler: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  turn: { type: 'boolean' },
  insecure: { type: 'boolean' },
  'state-file': { type: 'string' },
  restore: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
type Values = ReturnType<typeof parse>;

const print = (line: string) => void process.stdout.write(line + '\n');

/** `callstream fastphone`: resolves with the exit code once everything is put back. */
export async function fastphoneCommand(args: string[]): Promise<number> {
  const values = parseOrExplain('fastphone', () => parse(args));
  if (values.help) {
    process.stdout.write(FASTPHONE_HELP);
    return EXIT.OK;
  }
  loadDotEnv();
  const stateFile = values['state-file'] ?? DEFAULT_STATE_FILE;
  if (values.restore) return restore(values, stateFile);

  const tunnel = tunnelFrom(values);
  const handler = handlerName(values.handler ?? process.env.CALLSTREAM_HANDLER);
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  const port = parsePort(values.port ?? process.env.PORT, 8000);
  const credentials = checkTwilioCredentials(twilioCredentialsFromEnv());
  const logger = createLogger();
  const rtc = values.turn ? await turnConfiguration(credentials) : {};
  const stream = createDemoStream(handler, { logger, ...rtc });
  return serveUntilStopped(stream, logger, () =>
    startFastphone(stream, {
      ...credentials,
      phoneNumber: values.number,
      tunnel: tunnel ?? new LocalTunnel({ logger }),
      host,
      port,
      stateFile,
      insecure: values.insecure ?? false,
      signals: false,
      print,
    }),
  );
}

/**
 * Runs fastphone until SIGINT/SIGTERM (exit 0 once restored), a fatal error (restored, exit 1) or
 * the tunnel's death (restored, exit 1). A signal during start-up stops it as soon as it is up.
 */
async function serveUntilStopped(stream: Stream, logger: Logger, start: () => Promise<Fastphone>): Promise<number> {
  let fastphone: Fastphone | undefined;
  let pendingSignal: NodeJS.Signals | undefined;
  let stopping = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const stopWith = (code: number) => {
    if (stopping || !fastphone) return;
    stopping = true;
    fastphone.stop().then(
      () => finish(code),
      (error: unknown) => {
        reportError(error);
        finish(EXIT.FAILURE);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!fastphone) {
      pendingSignal = signal;
      return;
    }
    if (stopping) {
      print(`Still restoring ${fastphone.phoneNumber}; ${signal} again quits at once (then run "callstream fastphone --restore").`);
      removeHandlers();
      return;
    }
    print(`${signal}: restoring ${fastphone.phoneNumber} and stopping...`);
    stopWith(EXIT.OK);
  };
  const onFatal = (error: unknown) => {
    logger.error({ err: error }, 'fatal error');
    reportError(error);
    if (!fastphone) process.exit(EXIT.FAILURE);
    stopWith(EXIT.FAILURE);
  };
  const handlers = { SIGINT: onSignal, SIGTERM: onSignal, uncaughtException: onFatal, unhandledRejection: onFatal } as const;
  function removeHandlers() {
    for (const [event, handler] of Object.entries(handlers)) process.off(event, handler);
  }
  for (const [event, handler] of Object.entries(handlers)) process.on(event, handler);

  try {
    fastphone = await start();
  } catch (error) {
    removeHandlers();
    throw error;
  }
  fastphone.done.catch((error: unknown) => {
    // The tunnel or the server failed: fastphone has already restored the number and stopped.
    reportError(error);
    finish(EXIT.FAILURE);
  });
  if (pendingSignal) onSignal(pendingSignal);
  const code = await finished;
  removeHandlers();
  stream.logger.info({ code }, 'fastphone stopped');
  return code;
}

async function restore(values: Values, stateFile: string): Promise<number> {
  const extra = Object.keys(values).filter((key) => key !== 'restore' && key !== 'state-file' && key !== 'help');
  if (extra.length > 0) throw new UsageError(`--restore takes only --state-file (got --${extra.join(', --')}).`, 'run "callstream fastphone --restore" alone.');
  const restored = await restoreFromStateFile({ ...twilioCredentialsFromEnv(), stateFile });
  print(restored ? describeOutcome(restored.outcome, restored.state) : `Nothing to restore: no state file at ${stateFile}.`);
  return EXIT.OK;
}

function tunnelFrom(values: Values): Tunnel | undefined {
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined) {
    const clash = (['subdomain', 'tunnel-host', 'tunnel-timeout'] as const).filter((key) => values[key] !== undefined);
    if (clash.length > 0) throw new UsageError(`--public-url opens no tunnel, so --${clash.join(' and --')} cannot apply.`, 'use either --public-url or the tunnel options.');
    return asUsage(() => new FixedUrlTunnel(publicUrl));
  }
  if (values.subdomain === undefined && values['tunnel-host'] === undefined && values['tunnel-timeout'] === undefined) return undefined;
  const subdomain = values.subdomain === undefined ? undefined : asUsage(() => validateSubdomain(values.subdomain!));
  const startTimeoutMs = parseSeconds(values['tunnel-timeout'], 15_000, '--tunnel-timeout');
  return asUsage(() => new LocalTunnel({ host: values['tunnel-host'], subdomain, startTimeoutMs }));
}

/** Turns a CONFIG_ERROR about a flag's value into a usage error (exit 2). */
function asUsage<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof CallstreamError && error.code === 'CONFIG_ERROR') throw new UsageError(error.message, error.hint);
    throw error;
  }
}

async function turnConfiguration(credentials: TwilioCredentials): Promise<Pick<StreamOptions, 'rtcConfiguration' | 'serverRtcConfiguration'>> {
  const client = createTwilioClient(credentials);
  return { rtcConfiguration: twilioRtcConfiguration(client), serverRtcConfiguration: await twilioIceServers(client) };
}
