import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CallstreamError } from '../src/errors.js';
import { VOICE_SETTING_KEYS, type VoiceSettings } from '../src/twilio/numbers.js';

/** Where fastphone remembers a number's previous settings: `.callstream/fastphone-state.json` in the working directory. */
export const DEFAULT_STATE_FILE = path.join('.callstream', 'fastphone-state.json');

/**
 * What fastphone changed on a number, written before the change: enough to put it back after a
 * crash (`callstream fastphone --restore`).
 */
export interface FastphoneState {
  version: 1;
  accountSid: string;
  /** `PN...` */
  numberSid: string;
  phoneNumber: string;
  /** The number's voice settings before fastphone (all of them, for reference). */
  previous: VoiceSettings;
  /** What fastphone set; restoring puts these keys back to `previous`. */
  applied: Partial<VoiceSettings>;
  /** Process that made the change (to tell a live run from a crashed one). */
  pid: number;
  startedAt: string;
}

/** Writes the state atomically (temp file, then rename), readable by the user only. */
export async function writeState(file: string, state: FastphoneState): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(temp, file);
}

/** The state in `file`, or undefined when there is none; a damaged file is an error that says so. */
export async function readState(file: string): Promise<FastphoneState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw damaged(file, 'it is not JSON');
  }
  const problem = stateProblem(state);
  if (problem) throw damaged(file, problem);
  return state as FastphoneState;
}

/** Deletes the state file (and its folder when that is left empty and is fastphone's own). */
export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
  const dir = path.dirname(path.resolve(file));
  if (path.basename(dir) === '.callstream') await rmdir(dir).catch(() => {});
}

/** True when the process that wrote the state is still running. */
export function writerIsAlive(state: FastphoneState): boolean {
  if (state.pid === process.pid) return true;
  try {
    process.kill(state.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function stateProblem(state: unknown): string | undefined {
  if (typeof state !== 'object' || state === null) return 'it is not an object';
  const s = state as Partial<FastphoneState>;
  if (s.version !== 1) return `unknown version ${String(s.version)}`;
  for (const key of ['accountSid', 'numberSid', 'phoneNumber'] as const) {
    if (typeof s[key] !== 'string' || !s[key]) return `"${key}" is missing`;
  }
  if (typeof s.previous !== 'object' || s.previous === null) return '"previous" is missing';
  for (const key of VOICE_SETTING_KEYS) if (typeof s.previous[key] !== 'string') return `"previous.${key}" is missing`;
  if (typeof s.applied !== 'object' || s.applied === null) return '"applied" is missing';
  if (typeof s.pid !== 'number') return '"pid" is missing';
  return undefined;
}

function damaged(file: string, why: string): CallstreamError {
  return new CallstreamError('CONFIG_ERROR', `The fastphone state file ${file} is damaged (${why}).`, {
    hint: 'restore the number by hand in the Twilio console (Phone Numbers > Manage > Active numbers), then delete the file.',
  });
}
