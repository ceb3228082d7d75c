import { CallstreamError, describeError } from '../src/errors.js';
import type { RunningServer } from '../src/server.js';
import type { Stream } from '../src/stream.js';
import type { TwilioCredentials } from '../src/twilio/client.js';
import { checkRoutable, findPhoneNumber } from '../src/twilio/numbers.js';
import { streamVoiceSettings } from '../src/twilio/routing.js';
import { DEFAULT_STATE_FILE, type FastphoneState, removeState } from './fastphone-state.js';
import { type PublicServerOptions, servePublicly } from './public-server.js';
import { pointNumber, refuseIfPending, type RestoreOutcome, restoreNumber } from './registration.js';
import type { OpenTunnel } from './tunnel.js';
import { twilioAccountFor } from './twilio-account.js';

/** Options of `fastphone(stream)`. Credentials not given are read from `TWILIO_*` environment variables. */
export interface FastphoneOptions extends Partial<TwilioCredentials>, PublicServerOptions {
  /** The number to serve (E.164). Default: the account's only number. */
  phoneNumber?: string;
  /** Keeps the number's previous settings until they are restored. Default `.callstream/fastphone-state.json`. */
  stateFile?: string;
  /**
   * Serve although signatures cannot be checked (only an API key given, no auth token): anyone who
   * finds the URL can then reach the handler. Default false: refused.
   */
  insecure?: boolean;
  /** Stop and restore on these signals (then let the signal take its course). Default SIGINT and SIGTERM; false: call `stop()` yourself. */
  signals?: NodeJS.Signals[] | false;
  /** Where the human-readable lines go (the number, the URL, what to do). Default: the Stream's logger. */
  print?: (line: string) => void;
}

/** A Stream answering a phone number through a public tunnel, until stopped. */
export interface Fastphone {
  /** E.164 */
  readonly phoneNumber: string;
  /** The tunnel's public origin. */
  readonly publicUrl: string;
  /** The number's voice URL while fastphone runs. */
  readonly webhookUrl: string;
  readonly running: RunningServer;
  readonly tunnel: OpenTunnel;
  /** The number's settings before, as saved in the state file. */
  readonly state: FastphoneState;
  /**
   * Restores the number (unless changed since), closes the tunnel, ends sessions, stops the server,
   * deletes the state file. Idempotent. If restoring fails the state file is kept for `--restore`.
   */
  stop(): Promise<RestoreOutcome>;
  /** Settles once stopped: resolves after `stop()` or a signal; rejects, after restoring, when the tunnel or server fails. */
  readonly done: Promise<void>;
}

/**
 * Serves `stream` on a phone number: starts a server, opens the tunnel, points the number's voice
 * URL at it (its previous settings saved first), and puts everything back on stop, on a signal, or
 * when the tunnel dies. Webhooks are checked against the tunnel's URL.
 */
export async function startFastphone(stream: Stream, options: FastphoneOptions = {}): Promise<Fastphone> {
  const log = stream.logger.child({ component: 'fastphone' });
  const print = options.print ?? ((line: string) => log.info(line));
  const { credentials, client, insecure } = twilioAccountFor(stream, options, options.insecure ?? false);
  const stateFile = options.stateFile ?? DEFAULT_STATE_FILE;

  await refuseIfPending(stateFile);
  const number = await findPhoneNumber(client, options.phoneNumber);
  checkRoutable(number);

  const server = await servePublicly(stream, options, log);
  const { running, mountPath } = server;
  let state: FastphoneState;
  try {
    state = await pointNumber(client, credentials.accountSid, number, streamVoiceSettings(server.publicUrl, mountPath), stateFile);
  } catch (error) {
    // Nothing was served yet: close the server, but leave the Stream usable for another try.
    await server.release();
    throw error;
  }
  const openTunnel = server.tunnel;
  const webhookUrl = state.applied.voiceUrl!;

  let stopping: Promise<RestoreOutcome> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      removeSignalHandlers();
      let outcome: RestoreOutcome | undefined;
      let failure: unknown;
      try {
        outcome = await restoreNumber(client, state);
        print(describeOutcome(outcome, state));
      } catch (error) {
        failure = error;
      }
      await server.close();
      if (failure !== undefined) {
        throw new CallstreamError('TWILIO_ERROR', `Could not restore ${number.phoneNumber}: ${describeError(failure)}`, {
          cause: failure,
          hint: `its previous settings are kept in ${stateFile}: run "callstream fastphone --restore" once the problem is fixed.`,
        });
      }
      await removeState(stateFile);
      return outcome!;
    })();
    return stopping;
  };

  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => {});
  const fail = (error: Error) => {
    if (stopping) return;
    log.error({ err: error }, 'fastphone: fatal error; restoring the number and stopping');
    stop().then(() => settle.reject(error), (restoreError: unknown) => settle.reject(restoreError));
  };
  openTunnel.on('error', fail);
  openTunnel.once('close', () => fail(new CallstreamError('TUNNEL_ERROR', `The tunnel ${openTunnel.url} closed.`)));
  running.server.on('error', fail);

  const signals = options.signals === false ? [] : (options.signals ?? ['SIGINT', 'SIGTERM']);
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      print(`Still restoring ${number.phoneNumber}; a second ${signal} quits at once (then run "callstream fastphone --restore").`);
      process.off(signal, onSignal);
      return;
    }
    print(`${signal}: restoring ${number.phoneNumber} and stopping...`);
    stop().then(
      () => {
        settle.resolve();
        // Let the signal do what it would have done without us, unless someone else handles it.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      },
      (error: unknown) => settle.reject(error),
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
  function removeSignalHandlers() {
    for (const signal of signals) process.off(signal, onSignal);
  }

  announce(print, { phoneNumber: number.phoneNumber, webhookUrl, publicUrl: openTunnel.url, mountPath, localUrl: running.url, insecure });
  log.info({ phoneNumber: number.phoneNumber, numberSid: number.sid, webhookUrl, tunnel: openTunnel.url }, 'fastphone ready');

  return {
    phoneNumber: number.phoneNumber,
    publicUrl: openTunnel.url,
    webhookUrl,
    running,
    tunnel: openTunnel,
    state,
    done,
    stop: () =>
      stop().then(
        (outcome) => {
          settle.resolve();
          return outcome;
        },
        (error: unknown) => {
          settle.reject(error);
          throw error;
        },
      ),
  };
}

function announce(
  print: (line: string) => void,
  info: { phoneNumber: string; webhookUrl: string; publicUrl: string; mountPath: string; localUrl: string; insecure: boolean },
): void {
  print(`Call ${info.phoneNumber} to talk to the handler.`);
  print(`  voice webhook  ${info.webhookUrl} (POST)`);
  print(`  browser page   ${info.publicUrl}${info.mountPath}/ (its audio needs reachable UDP or TURN, not the tunnel)`);
  print(`  local server   ${info.localUrl}`);
  if (info.insecure) print('WARNING: --insecure: signatures are NOT checked; anyone who finds the URL can reach the handler.');
  print('Trial accounts only take calls from verified numbers. Press Ctrl-C to stop: the number gets its previous settings back.');
}

/** One line saying what restoring did. */
export function describeOutcome(outcome: RestoreOutcome, state: FastphoneState): string {
  switch (outcome) {
    case 'restored':
      return `Restored ${state.phoneNumber}: voice URL ${state.previous.voiceUrl || '(none)'} again.`;
    case 'unchanged':
      return `${state.phoneNumber} was changed by someone else since fastphone set it: left as it is.`;
    case 'gone':
      return `${state.phoneNumber} is no longer in the account: nothing to restore.`;
  }
}


/**
 * FastRTC's `stream.fastphone()`, as a function of the tunnels package (the core never loads tunnel
 * code): serves `stream` on one of your Twilio numbers through a public tunnel.
 */
export const fastphone = startFastphone;
