import { createDemoStream, DEFAULT_DEMO_HANDLER } from '../../handlers/index.js';
import type { Fastphone } from '../../tunnels/fastphone.js';
import { describeOutcome, startFastphone } from '../../tunnels/fastphone.js';
import { DEFAULT_STATE_FILE } from '../../tunnels/fastphone-state.js';
import { restoreFromStateFile } from '../../tunnels/fastphone-restore.js';
import { LocalTunnel } from '../../tunnels/localtunnel.js';
import { createLogger, type Logger } from '../logger.js';
import type { StreamOptions } from '../options.js';
import type { Stream } from '../stream.js';
import { checkTwilioCredentials, createTwilioClient, type TwilioCredentials, twilioCredentialsFromEnv } from '../twilio/client.js';
import { twilioIceServers, twilioRtcConfiguration } from '../twilio/ice-servers.js';
import { handlerName, loadDotEnv, parseCommandLine, parsePort } from './args.js';
import { accessTokenFrom, AUTH_TOKEN_OPTION, authTokenHelp, demoAccessWarnings, demoProtection, pageLinkHint, refuseUnprotectedDemo } from './demo-access.js';
import { EXIT, EXIT_CODES_HELP, reportError, UsageError } from './exit.js';
import { TUNNEL_OPTIONS, TWILIO_ENV_HELP, tunnelFrom, tunnelHelp } from './public-args.js';
import { applyRealtimeFlags, REALTIME_OPTIONS, realtimeHelp } from './realtime-flags.js';

export const FASTPHONE_HELP = `Usage:
  callstream fastphone [--number +15551234567]
                       [--public-url URL | --subdomain NAME --tunnel-host URL --tunnel-timeout SECONDS]
                       [--handler NAME] [--host HOST] [--port PORT] [--turn] [--insecure] [--state-file FILE]
                       [--auth-token TOKEN] [--realtime-model M] [--realtime-voice V] [--realtime-instructions TEXT]
  callstream fastphone --restore [--state-file FILE]

Serves a demo handler on one of your Twilio numbers: opens a public tunnel (localtunnel), points the
number's voice webhook at it, and prints what to call. Ctrl-C or SIGTERM puts the number's previous
settings back. After a crash, --restore does it from the state file. The tunnel makes the page
public: desk and openai-realtime start only with CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN,
conference with TWILIO_AUTH_TOKEN and the access token or CALLSTREAM_ROOM_PIN.

Options:
  --number          The number to use (E.164). Default: the account's only number.
${tunnelHelp(20)}
  --handler         Demo handler (env CALLSTREAM_HANDLER; default ${DEFAULT_DEMO_HANDLER}).
  --host            Interface to listen on (env HOST; default 127.0.0.1).
  --port            Port (env PORT; default 8000; 0 picks a free one).
  --turn            Give browsers and the server Twilio TURN relays (Network Traversal Service).
  --insecure        Run without signature checks when only an API key is set (never for real use).
  --state-file      Where the number's previous settings are kept (default ${DEFAULT_STATE_FILE}).
  --restore         Put back the settings a crashed run left in the state file, then exit.
${authTokenHelp(20)}
${realtimeHelp(20)}
  -h, --help        Show this help.

${TWILIO_ENV_HELP}

${EXIT_CODES_HELP}`;

/** The command's options (its --help lists each; test/cli/help.test.ts holds them to it). */
export const OPTIONS = {
  number: { type: 'string' },
  ...TUNNEL_OPTIONS,
  handler: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  turn: { type: 'boolean' },
  insecure: { type: 'boolean' },
  'state-file': { type: 'string' },
  restore: { type: 'boolean' },
  ...AUTH_TOKEN_OPTION,
  ...REALTIME_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

const parse = (args: string[]) => parseCommandLine('fastphone', args, OPTIONS);
type Values = ReturnType<typeof parse>;

const print = (line: string) => void process.stdout.write(line + '\n');

/** `callstream fastphone`: resolves with the exit code once everything is put back. */
export async function fastphoneCommand(args: string[]): Promise<number> {
  const values = parse(args);
  if (values.help) {
    process.stdout.write(FASTPHONE_HELP);
    return EXIT.OK;
  }
  loadDotEnv();
  applyRealtimeFlags(values);
  const stateFile = values['state-file'] ?? DEFAULT_STATE_FILE;
  if (values.restore) return restore(values, stateFile);

  const tunnel = tunnelFrom(values);
  const handler = handlerName(values.handler);
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  const port = parsePort(values.port, 8000);
  const credentials = checkTwilioCredentials(twilioCredentialsFromEnv());
  const accessToken = accessTokenFrom(values['auth-token']);
  const publicBecause = values['public-url'] === undefined ? 'a tunnel publishes it' : `--public-url is ${values['public-url']}`;
  const protection = demoProtection(accessToken, credentials.authToken);
  refuseUnprotectedDemo(handler, publicBecause, protection);
  const logger = createLogger();
  for (const warning of demoAccessWarnings(handler, publicBecause, protection)) logger.warn(warning);
  const rtc = values.turn ? await turnConfiguration(credentials) : {};
  const stream = createDemoStream(handler, { logger, accessToken, ...rtc });
  return serveUntilStopped(stream, logger, async () => {
    const fastphone = await startFastphone(stream, {
      ...credentials,
      phoneNumber: values.number,
      tunnel: tunnel ?? new LocalTunnel({ logger }),
      host,
      port,
      stateFile,
      insecure: values.insecure ?? false,
      signals: false,
      print,
    });
    if (accessToken) print(`  with the token open ${pageLinkHint(`${fastphone.publicUrl}/${stream.pages.has('desk') ? 'desk' : ''}`)} once (it sets a cookie); programs send Authorization: Bearer.`);
    return fastphone;
  });
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

async function turnConfiguration(credentials: TwilioCredentials): Promise<Pick<StreamOptions, 'rtcConfiguration' | 'serverRtcConfiguration'>> {
  const client = createTwilioClient(credentials);
  return { rtcConfiguration: twilioRtcConfiguration(client), serverRtcConfiguration: await twilioIceServers(client) };
}
