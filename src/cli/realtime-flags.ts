import { DEFAULT_REALTIME_MODEL } from '../../handlers/openai-realtime/options.js';
import { helpLine } from './help.js';

/**
 * The openai-realtime demo handler's flags, shared by `serve` and `fastphone`. Each stands for an
 * environment variable the handler reads (flag first), so workers and the handler see one source.
 */
export const REALTIME_OPTIONS = {
  'realtime-model': { type: 'string' },
  'realtime-voice': { type: 'string' },
  'realtime-instructions': { type: 'string' },
} as const;

const VARIABLES = {
  'realtime-model': 'OPENAI_REALTIME_MODEL',
  'realtime-voice': 'OPENAI_REALTIME_VOICE',
  'realtime-instructions': 'OPENAI_REALTIME_INSTRUCTIONS',
} as const;

export type RealtimeFlags = Partial<Record<keyof typeof VARIABLES, string>>;

/** Help lines for the flags, the descriptions starting at column `column` (below a flag too long for it). */
export function realtimeHelp(column: number): string {
  const line = (flag: string, text: string) => helpLine(`--${flag}`, text, column);
  return [
    line('realtime-model', `With --handler openai-realtime: the model (env OPENAI_REALTIME_MODEL; unset: ${DEFAULT_REALTIME_MODEL}).`),
    line('realtime-voice', "With --handler openai-realtime: the model's voice (env OPENAI_REALTIME_VOICE; unset: the API's)."),
    line('realtime-instructions', 'With --handler openai-realtime: its instructions (env OPENAI_REALTIME_INSTRUCTIONS; unset: none).'),
  ].join('\n');
}

/** Sets the environment variable of each flag given (the handler and any worker read it there). */
export function applyRealtimeFlags(flags: RealtimeFlags, env: NodeJS.ProcessEnv = process.env): void {
  for (const [flag, variable] of Object.entries(VARIABLES)) {
    const value = flags[flag as keyof RealtimeFlags];
    if (value !== undefined) env[variable] = value;
  }
}
