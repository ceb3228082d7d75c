/**
 * The part of OpenAI's Realtime protocol the bridge speaks, as JSON events: the GA names, the beta
 * names they replaced, and the session configuration in both shapes.
 */

/** A server event as it arrives: a `type` and whatever fields that type carries. */
export interface ServerEvent {
  type: string;
  [field: string]: unknown;
}

/** A client event as it is sent. */
export type ClientEvent = { type: string } & Record<string, unknown>;

/** Which shape of the protocol a service speaks: the current (GA) one, or the beta it replaced. */
export type RealtimeProtocol = 'ga' | 'beta';

/** The audio a session carries: G.711 μ-law at 8 kHz (phone calls, untouched) or 16-bit PCM at 24 kHz. */
export type ModelAudio = 'pcmu' | 'pcm24';

/** A function the model may call (the Realtime API's function tool). */
export interface RealtimeTool {
  type: 'function';
  name: string;
  description?: string;
  /** The arguments' JSON Schema. */
  parameters?: Record<string, unknown>;
}

/** Beta event names and the GA names that replaced them: events are handled under their GA name. */
const GA_NAMES: Readonly<Record<string, string>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
};

/** An event's type under its GA name (a beta name is translated; others are kept). */
export function gaName(type: string): string {
  return GA_NAMES[type] ?? type;
}

/** Parses one message from the model; undefined when it is not a JSON object with a string `type`. */
export function parseServerEvent(text: string): ServerEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return typeof (value as { type?: unknown }).type === 'string' ? (value as ServerEvent) : undefined;
}

/** What goes into `session.update` beside the audio formats. */
export interface SessionSettings {
  instructions?: string;
  voice?: string;
  /** The caller's transcription model, or false for none. */
  transcription: string | false;
  /** The API's turn detection; undefined keeps the API's default (server VAD). */
  turnDetection?: Record<string, unknown> | null;
  tools: readonly RealtimeTool[];
  /** Merged into the session object as given (anything the API takes that has no option here). */
  extra?: Record<string, unknown>;
}

/** `session.update` for a session whose audio is `audio` both ways, in the protocol's own shape. */
export function sessionUpdate(protocol: RealtimeProtocol, audio: ModelAudio, settings: SessionSettings): ClientEvent {
  const session = protocol === 'ga' ? gaSession(audio, settings) : betaSession(audio, settings);
  if (settings.tools.length > 0) Object.assign(session, { tools: settings.tools, tool_choice: 'auto' });
  return { type: 'session.update', session: { ...session, ...settings.extra } };
}

function gaSession(audio: ModelAudio, settings: SessionSettings): Record<string, unknown> {
  const format = audio === 'pcmu' ? { type: 'audio/pcmu' } : { type: 'audio/pcm', rate: 24000 };
  const input: Record<string, unknown> = { format };
  if (settings.transcription) input.transcription = { model: settings.transcription };
  if (settings.turnDetection !== undefined) input.turn_detection = settings.turnDetection;
  const output: Record<string, unknown> = { format };
  if (settings.voice) output.voice = settings.voice;
  return {
    type: 'realtime',
    output_modalities: ['audio'],
    ...(settings.instructions !== undefined ? { instructions: settings.instructions } : {}),
    audio: { input, output },
  };
}

function betaSession(audio: ModelAudio, settings: SessionSettings): Record<string, unknown> {
  const format = audio === 'pcmu' ? 'g711_ulaw' : 'pcm16';
  return {
    modalities: ['audio', 'text'],
    input_audio_format: format,
    output_audio_format: format,
    ...(settings.instructions !== undefined ? { instructions: settings.instructions } : {}),
    ...(settings.voice ? { voice: settings.voice } : {}),
    ...(settings.transcription ? { input_audio_transcription: { model: settings.transcription } } : {}),
    ...(settings.turnDetection !== undefined ? { turn_detection: settings.turnDetection } : {}),
  };
}

/** A user message item with text (the caller pressed a key, say). */
export function userText(text: string): ClientEvent {
  return { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } };
}

/** The result of a function call, as a conversation item. */
export function functionOutput(callId: string, output: string): ClientEvent {
  return { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } };
}

/** Reads a string field; undefined when absent or not a string. */
export function text(event: Record<string, unknown> | undefined, field: string): string | undefined {
  const value = event?.[field];
  return typeof value === 'string' ? value : undefined;
}

/** Reads an object field; undefined when absent or not an object. */
export function object(event: Record<string, unknown> | undefined, field: string): Record<string, unknown> | undefined {
  const value = event?.[field];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
