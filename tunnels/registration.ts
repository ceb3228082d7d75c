import { CallstreamError } from '../src/errors.js';
import { TwilioApiError } from '../src/twilio/api-error.js';
import type { TwilioClient } from '../src/twilio/client.js';
import { fetchPhoneNumber, type PhoneNumber, updateVoiceSettings, type VoiceSettings } from '../src/twilio/numbers.js';
import { type FastphoneState, readState, removeState, writerIsAlive, writeState } from './fastphone-state.js';

/**
 * Points `number` at `settings`. Its previous voice settings are saved in `stateFile` first, so a
 * crash at any later moment can be undone (`restoreNumber`). Refuses while a state file exists:
 * another run is live, or a crashed one has not been restored (its file holds the true old settings).
 */
export async function pointNumber(
  client: TwilioClient,
  accountSid: string,
  number: PhoneNumber,
  settings: Partial<VoiceSettings>,
  stateFile: string,
): Promise<FastphoneState> {
  await refuseIfPending(stateFile);
  const state: FastphoneState = {
    version: 1,
    accountSid,
    numberSid: number.sid,
    phoneNumber: number.phoneNumber,
    previous: number.voice,
    applied: settings,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  await writeState(stateFile, state);
  try {
    await updateVoiceSettings(client, number.sid, settings);
  } catch (error) {
    // The update may have reached Twilio before failing here: put back whatever did change.
    await restoreNumber(client, state).then(() => removeState(stateFile), () => {});
    throw error;
  }
  return state;
}

/** What restoring found: `restored`; `unchanged` (fastphone's settings were not there: left alone); `gone` (the number left the account). */
export type RestoreOutcome = 'restored' | 'unchanged' | 'gone';

/**
 * Puts back the settings a state recorded, but only where the number still carries what fastphone
 * set: a change made since (in the console, by another tool) is left alone.
 */
export async function restoreNumber(client: TwilioClient, state: FastphoneState): Promise<RestoreOutcome> {
  let current: PhoneNumber;
  try {
    current = await fetchPhoneNumber(client, state.numberSid);
  } catch (error) {
    if (error instanceof TwilioApiError && error.status === 404) return 'gone';
    throw error;
  }
  const keys = Object.keys(state.applied) as (keyof VoiceSettings)[];
  if (keys.some((key) => current.voice[key] !== state.applied[key])) return 'unchanged';
  const back: Partial<VoiceSettings> = {};
  for (const key of keys) {
    const value = state.previous[key];
    // Twilio has no "no method": an empty one is left as it is.
    if (value === '' && key.endsWith('Method')) continue;
    back[key] = value;
  }
  await updateVoiceSettings(client, state.numberSid, back);
  return 'restored';
}

/** Refuses while `stateFile` exists: another run is live, or a crashed run's number awaits `--restore`. */
export async function refuseIfPending(stateFile: string): Promise<void> {
  const pending = await readState(stateFile);
  if (!pending) return;
  if (pending.pid !== process.pid && writerIsAlive(pending)) {
    throw new CallstreamError('CONFIG_ERROR', `Another fastphone (pid ${pending.pid}) is serving ${pending.phoneNumber} (state file ${stateFile}).`, {
      hint: 'stop it first (Ctrl-C in its terminal), or run this one from another directory.',
    });
  }
  throw new CallstreamError('CONFIG_ERROR', `A previous fastphone run did not restore ${pending.phoneNumber} (state file ${stateFile}).`, {
    hint: 'run "callstream fastphone --restore" to put its old settings back, then start again.',
  });
}
