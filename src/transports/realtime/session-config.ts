import { betaFormat, gaFormat, parseWireFormat, type WireFormat } from './audio-format.js';
import type { Dialect } from './server-events.js';

/** What one `session.update` changes. */
export interface SessionUpdate {
  /** The dialect the update is written in (GA: `session.type` "realtime"; beta: `input_audio_format`...). */
  dialect: Dialect;
  input?: WireFormat;
  output?: WireFormat;
  /** Everything else it set, kept and echoed back (callstream's handler decides what is said, not these). */
  fields: Record<string, unknown>;
}

const BETA_FIELDS = ['input_audio_format', 'output_audio_format', 'modalities', 'input_audio_transcription', 'turn_detection', 'voice'];

/** Reads `session.update`'s `session`, in either dialect; a sentence saying what is wrong otherwise. */
export function readSessionUpdate(value: unknown, current: Dialect): SessionUpdate | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'session.update needs a "session" object.';
  const session = value as Record<string, unknown>;
  if (session.type !== undefined && session.type !== 'realtime') {
    return `Only "realtime" sessions are supported (got session.type ${JSON.stringify(session.type).slice(0, 40)}).`;
  }
  const dialect: Dialect = session.type === 'realtime' ? 'ga' : BETA_FIELDS.some((field) => field in session) ? 'beta' : current;
  const { audio, input_audio_format: betaInput, output_audio_format: betaOutput, ...fields } = session;
  const update: SessionUpdate = { dialect, fields };
  const audioConfig = audio === undefined ? {} : audio;
  if (typeof audioConfig !== 'object' || audioConfig === null) return 'session.audio must be an object {input, output}.';
  const { input, output } = audioConfig as { input?: { format?: unknown }; output?: { format?: unknown } };
  const inputFormat = input?.format ?? betaInput;
  const outputFormat = output?.format ?? betaOutput;
  if (inputFormat !== undefined) {
    const format = parseWireFormat(inputFormat);
    if (!isWireFormat(format)) return `Input audio: ${format}`;
    update.input = format;
  }
  if (outputFormat !== undefined) {
    const format = parseWireFormat(outputFormat);
    if (!isWireFormat(format)) return `Output audio: ${format}`;
    update.output = format;
  }
  if (audio !== undefined) update.fields.audio = audioConfig;
  return update;
}

/** The session as `session.created` and `session.updated` describe it, in the client's dialect. */
export function describeSession(id: string, config: Record<string, unknown>, formats: { input: WireFormat; output: WireFormat }, dialect: Dialect): Record<string, unknown> {
  const { audio, ...rest } = config;
  const base = { ...rest, id, object: 'realtime.session', model: 'callstream' };
  if (dialect === 'beta') {
    return { ...base, modalities: ['audio'], input_audio_format: betaFormat(formats.input), output_audio_format: betaFormat(formats.output) };
  }
  const given = (audio ?? {}) as { input?: Record<string, unknown>; output?: Record<string, unknown> };
  return {
    ...base,
    type: 'realtime',
    output_modalities: ['audio'],
    audio: { input: { ...given.input, format: gaFormat(formats.input) }, output: { ...given.output, format: gaFormat(formats.output) } },
  };
}

function isWireFormat(value: string): value is WireFormat {
  return value === 'pcm' || value === 'pcmu' || value === 'pcma';
}
