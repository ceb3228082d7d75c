import { CallstreamError } from '../src/errors.js';
import { checkTwilioCredentials, createTwilioClient, type TwilioCredentials, twilioCredentialsFromEnv } from '../src/twilio/client.js';
import { DEFAULT_STATE_FILE, type FastphoneState, readState, removeState, writerIsAlive } from './fastphone-state.js';
import { type RestoreOutcome, restoreNumber } from './registration.js';

export interface RestoreOptions extends Partial<TwilioCredentials> {
  /** Default `.callstream/fastphone-state.json`. */
  stateFile?: string;
}

/**
 * Puts a number back as the state file says (after a fastphone run that could not restore it: a
 * crash, a kill -9, a lost network), then deletes the file. Undefined when there is no state file.
 * The account comes from the state file unless credentials name one. Refuses while the run that
 * wrote the file is still alive (it restores on exit).
 */
export async function restoreFromStateFile(options: RestoreOptions = {}): Promise<{ outcome: RestoreOutcome; state: FastphoneState } | undefined> {
  const stateFile = options.stateFile ?? DEFAULT_STATE_FILE;
  const state = await readState(stateFile);
  if (!state) return undefined;
  if (state.pid !== process.pid && writerIsAlive(state)) {
    throw new CallstreamError('CONFIG_ERROR', `fastphone (pid ${state.pid}) is still serving ${state.phoneNumber}; it restores the number when it stops.`, {
      hint: `stop it (Ctrl-C in its terminal, or kill ${state.pid}) instead.`,
    });
  }
  const given = Object.fromEntries(Object.entries(options).filter(([key, value]) => key !== 'stateFile' && value !== undefined));
  const credentials = { ...twilioCredentialsFromEnv(), ...given } as Partial<TwilioCredentials>;
  credentials.accountSid ??= state.accountSid;
  if (credentials.accountSid !== state.accountSid) {
    throw new CallstreamError('CONFIG_ERROR', `The state file ${stateFile} is for account ${state.accountSid}, not ${credentials.accountSid}.`, {
      hint: `run with TWILIO_ACCOUNT_SID=${state.accountSid} and that account's credentials.`,
    });
  }
  const client = createTwilioClient(checkTwilioCredentials(credentials));
  const outcome = await restoreNumber(client, state);
  await removeState(stateFile);
  return { outcome, state };
}
