import { createDemoStream, DEFAULT_DEMO_HANDLER } from '../../handlers/index.js';
import { LocalTunnel } from '../../tunnels/localtunnel.js';
import { type PublicServer, servePublicly } from '../../tunnels/public-server.js';
import { twilioAccountFor } from '../../tunnels/twilio-account.js';
import { CallstreamError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { CallStatusEvent } from '../session/types.js';
import type { TwilioClient } from '../twilio/client.js';
import { findPhoneNumber } from '../twilio/numbers.js';
import type { CallEnd, OutboundCall } from '../twilio/outbound-call.js';
import { handlerName, loadDotEnv, parseCommandLine, parsePort } from './args.js';
import { accessTokenFrom, AUTH_TOKEN_OPTION, authTokenHelp, demoAccessWarnings, demoProtection, refuseUnprotectedDemo } from './demo-access.js';
import { EXIT, EXIT_CODES_HELP, reportError, UsageError } from './exit.js';
import { TUNNEL_OPTIONS, TWILIO_ENV_HELP, tunnelFrom, tunnelHelp } from './public-args.js';

export const CALL_HELP = `Usage:
  callstream call --to +15551234567 [--from +15557654321]
                  [--public-url URL | --subdomain NAME --tunnel-host URL --tunnel-timeout SECONDS]
                  [--handler NAME] [--host HOST] [--port PORT] [--timeout SECONDS] [--machine-detection MODE]
                  [--record] [--insecure] [--auth-token TOKEN]

Places a phone call whose answer talks to a demo handler: starts the server, opens a public tunnel
(localtunnel, unless --public-url), creates the call over Twilio's REST API, prints its SID and each
status change, and exits when the call ends. Ctrl-C or SIGTERM hangs the call up first.

Options:
  --to                 The number to call (E.164), or a sip: address.
  --from               The caller ID: one of your Twilio numbers or a verified one. Default: the account's only number.
${tunnelHelp(23)}
  --handler            Demo handler (env CALLSTREAM_HANDLER; default ${DEFAULT_DEMO_HANDLER}).
  --host               Interface to listen on (env HOST; default 127.0.0.1).
  --port               Port (env PORT; default 8000; 0 picks a free one).
  --timeout            Seconds to let it ring (Twilio's default 60, at most 600).
  --machine-detection  Answering machine detection: Enable or DetectMessageEnd (the handler sees AnsweredBy).
  --record             Also record the call on Twilio's side (dual channel).
  --insecure           Run without signature checks when only an API key is set (never for real use).
${authTokenHelp(23)}
  -h, --help           Show this help.

${TWILIO_ENV_HELP}

${EXIT_CODES_HELP}  4  the call was busy
  5  the call was not answered
  6  the call failed or was canceled (Twilio could not place it, or it ended before reaching the handler)
`;

/** The command's options (its --help lists each; test/cli/help.test.ts holds them to it). */
export const OPTIONS = {
  to: { type: 'string' },
  from: { type: 'string' },
  ...TUNNEL_OPTIONS,
  handler: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  timeout: { type: 'string' },
  'machine-detection': { type: 'string' },
  record: { type: 'boolean' },
  insecure: { type: 'boolean' },
  ...AUTH_TOKEN_OPTION,
  help: { type: 'boolean', short: 'h' },
} as const;

const parse = (args: string[]) => parseCommandLine('call', args, OPTIONS);

const print = (line: string) => void process.stdout.write(line + '\n');

/** How long to wait for Twilio's word on a call after hanging it up (ms). */
const HANG_UP_GRACE_MS = 5000;

/** `callstream call`: resolves with the exit code once the call is over and everything is closed. */
export async function callCommand(args: string[]): Promise<number> {
  const values = parse(args);
  if (values.help) {
    process.stdout.write(CALL_HELP);
    return EXIT.OK;
  }
  loadDotEnv();
  if (values.to === undefined) throw new UsageError('--to is required: the number to call.', 'e.g. callstream call --to +15551234567.');
  const to = address(values.to, '--to');
  const from = values.from === undefined ? undefined : address(values.from, '--from');
  const tunnel = tunnelFrom(values);
  const handler = handlerName(values.handler);
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  const port = parsePort(values.port, 8000);
  const timeout = values.timeout === undefined ? undefined : ringSeconds(values.timeout);
  const machineDetection = machineDetectionMode(values['machine-detection']);

  // The tunnel (or the public URL) publishes the handler's page and transports while the call lasts.
  const accessToken = accessTokenFrom(values['auth-token']);
  const publicBecause = values['public-url'] === undefined ? 'a tunnel publishes it' : `--public-url is ${values['public-url']}`;
  const protection = demoProtection(accessToken, process.env.TWILIO_AUTH_TOKEN);
  refuseUnprotectedDemo(handler, publicBecause, protection);
  const logger = createLogger();
  for (const warning of demoAccessWarnings(handler, publicBecause, protection)) logger.warn(warning);
  const stream = createDemoStream(handler, { logger, accessToken, twilio: false, telephone: values.record ? { twilioRecording: true } : {} });
  const account = twilioAccountFor(stream, {}, values.insecure ?? false);
  const caller = from ?? (await onlyNumber(account.client));

  const stop = stopRequests();
  let server: PublicServer | undefined;
  try {
    server = await servePublicly(stream, { tunnel: tunnel ?? new LocalTunnel({ logger }), host, port }, logger);
    print(`  public URL     ${server.publicUrl}`);
    print(`  local server   ${server.running.url}`);
    if (account.insecure) print('WARNING: --insecure: signatures are NOT checked; anyone who finds the URL can reach the handler.');
    if (stop.signal) return EXIT.OK;
    const call = await stream.call({ to, from: caller, timeout, machineDetection });
    print(`Calling ${to} from ${caller}: ${call.sid}`);
    call.on('status', (event) => print(`  status ${describeStatus(event)}`));
    call.session.then((session) => print(`  connected: the handler has the call (session ${session.id})`), () => {});
    return await follow(call, server, stop);
  } finally {
    stop.remove();
    await server?.close();
  }
}

/** Waits for the call to end, a signal (hang up, exit 0) or the tunnel's death (hang up, exit 1). */
async function follow(call: OutboundCall, server: PublicServer, stop: StopRequests): Promise<number> {
  const tunnelDied = new Promise<Error>((resolve) => {
    server.tunnel.once('error', resolve);
    server.tunnel.once('close', () => resolve(new CallstreamError('TUNNEL_ERROR', `The tunnel ${server.publicUrl} closed.`)));
  });
  const outcome = await Promise.race([
    call.ended.then((end) => ({ end })),
    stop.requested.then((signal) => ({ signal })),
    tunnelDied.then((error) => ({ error })),
  ]);
  if ('end' in outcome) return finished(call, outcome.end);

  if ('signal' in outcome) print(`${outcome.signal}: hanging up ${call.sid}...`);
  else reportError(outcome.error);
  try {
    await call.hangUp();
  } catch (error) {
    reportError(error);
    return EXIT.FAILURE;
  }
  const end = await within(call.ended, HANG_UP_GRACE_MS);
  print(`Hung up ${call.sid}${end ? ` (${end.status})` : ''}.`);
  return 'signal' in outcome ? EXIT.OK : EXIT.FAILURE;
}

/** The exit code of a call that ended by itself, after saying how. */
function finished(call: OutboundCall, end: CallEnd): number {
  if (!end.error) {
    print(`Call ${call.sid} ended: ${end.status}${end.durationS === undefined ? '' : ` after ${end.durationS} s`}.`);
    return EXIT.OK;
  }
  reportError(end.error);
  switch (end.error.reason) {
    case 'busy':
      return EXIT.CALL_BUSY;
    case 'no-answer':
      return EXIT.CALL_NOT_ANSWERED;
    case 'timeout':
      return EXIT.FAILURE;
    default:
      return EXIT.CALL_FAILED;
  }
}

interface StopRequests {
  /** The first SIGINT/SIGTERM, once one came. */
  readonly signal: NodeJS.Signals | undefined;
  readonly requested: Promise<NodeJS.Signals>;
  remove(): void;
}

/** SIGINT/SIGTERM ask to hang up and stop; a second one is left to Node (the process dies at once). */
function stopRequests(): StopRequests {
  let resolve!: (signal: NodeJS.Signals) => void;
  const requests: StopRequests & { signal: NodeJS.Signals | undefined } = {
    signal: undefined,
    requested: new Promise((r) => (resolve = r)),
    remove: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
  function onSignal(signal: NodeJS.Signals) {
    if (requests.signal) {
      print(`${signal} again: still hanging up; once more quits at once.`);
      requests.remove();
      return;
    }
    requests.signal = signal;
    resolve(signal);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return requests;
}

function describeStatus(event: CallStatusEvent): string {
  const details = [
    event.answeredBy ? `answered by ${event.answeredBy}` : undefined,
    event.durationS === undefined ? undefined : `${event.durationS} s`,
  ].filter(Boolean);
  return details.length > 0 ? `${event.status} (${details.join(', ')})` : event.status;
}

/** Resolves with the promise's value, or undefined after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The account's only number, as the caller ID; with several, asks for --from. */
async function onlyNumber(client: TwilioClient): Promise<string> {
  try {
    return (await findPhoneNumber(client)).phoneNumber;
  } catch (error) {
    if (error instanceof CallstreamError && error.code === 'CONFIG_ERROR') {
      throw new CallstreamError('CONFIG_ERROR', error.message, { hint: 'give the caller ID with --from (one of your numbers, or a verified one).' });
    }
    throw error;
  }
}

/** An E.164 number (spaces, dashes, dots and parentheses dropped) or a sip: address. */
function address(text: string, flag: string): string {
  if (/^sips?:\S+$/i.test(text)) return text;
  const compact = text.replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{4,14}$/.test(compact)) {
    throw new UsageError(`invalid ${flag} "${text}": not a phone number in E.164 form.`, `write it with the country code, e.g. ${flag} +15551234567.`);
  }
  return compact;
}

function ringSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) throw new UsageError(`invalid --timeout "${text}".`, 'give whole seconds between 1 and 600.');
  return seconds;
}

function machineDetectionMode(text: string | undefined): 'Enable' | 'DetectMessageEnd' | undefined {
  if (text === undefined) return undefined;
  const mode = (['Enable', 'DetectMessageEnd'] as const).find((m) => m.toLowerCase() === text.toLowerCase());
  if (!mode) throw new UsageError(`invalid --machine-detection "${text}".`, 'use Enable (tell as soon as known) or DetectMessageEnd (wait for the greeting to end).');
  return mode;
}
