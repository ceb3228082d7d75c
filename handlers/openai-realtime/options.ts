import { type AudioFrame, CallstreamError, type SessionContext } from '../../src/index.js';
import type { RealtimeProtocol, RealtimeTool } from './protocol.js';

/** OpenAI's Realtime endpoint; the model goes in its `model` query parameter. */
export const OPENAI_REALTIME_URL = 'wss://api.openai.com/v1/realtime';
export const DEFAULT_REALTIME_MODEL = 'gpt-realtime';
export const DEFAULT_TRANSCRIPTION_MODEL = 'gpt-4o-mini-transcribe';

/** Called when the model calls one of `tools`: what it returns (a string, or anything JSON) is the call's output. */
export type ToolCallHook<Name extends string = string> = (name: Name, args: unknown, ctx: SessionContext) => unknown;

/** Options of `openaiRealtime()`. */
export interface OpenAIRealtimeOptions<Tools extends readonly RealtimeTool[] = readonly RealtimeTool[]> {
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** Default `gpt-realtime`. */
  model?: string;
  /**
   * The Realtime WebSocket URL. Default `wss://api.openai.com/v1/realtime`; the model is added as its
   * `model` query parameter unless the URL has one (a compatible service, or a test's fake).
   */
  url?: string;
  /** `ga` (default): the current protocol. `beta`: services still on the beta one (sends `OpenAI-Beta: realtime=v1`). */
  protocol?: RealtimeProtocol;
  /** The model's instructions (its system prompt). */
  instructions?: string;
  /** The model's voice (`marin`, `cedar`, `alloy`...). Default: the API's. */
  voice?: string;
  /** Transcribes the caller with this model (transcripts arrive as outputs); false for none. Default `gpt-4o-mini-transcribe`. */
  transcription?: string | false;
  /**
   * Turn detection as the API takes it (`{type: 'server_vad', silence_duration_ms: 500}`,
   * `{type: 'semantic_vad'}`); default: the API's own (server VAD). `null` turns it off, and with it
   * barge-in, which starts from the model's `input_audio_buffer.speech_started`.
   */
  turnDetection?: Record<string, unknown> | null;
  /** Functions the model may call. */
  tools?: Tools;
  /** Runs a function call; its result goes back to the model, which then goes on talking. */
  onToolCall?: ToolCallHook<Tools[number]['name']>;
  /** Instructions for a first response, said as soon as the call starts (the model speaks first). */
  greeting?: string;
  /**
   * Keys the caller presses: `respond` (default) adds "The caller pressed 5." to the conversation
   * and asks for a response; `forward` only adds it; `ignore` drops them.
   */
  dtmf?: 'respond' | 'forward' | 'ignore';
  /**
   * What the caller hears when the model fails (refused key, rate limit, error, closed socket) before
   * the session ends: `tone` (default: three bursts of a reorder tone), a recorded prompt as an audio
   * frame, or `false` (nothing).
   */
  fallback?: 'tone' | AudioFrame | false;
  /** Fields merged into `session.update`'s session as given, for settings without an option here. */
  session?: Record<string, unknown>;
  /** The model's WebSocket must open within this time (ms). Default 10000. */
  connectTimeoutMs?: number;
}

/** The WebSocket URL for `options`: the given one or OpenAI's, with the model added unless it names one. */
export function realtimeUrl(options: Pick<OpenAIRealtimeOptions, 'url' | 'model'>): string {
  const url = new URL(options.url ?? OPENAI_REALTIME_URL);
  if (!url.searchParams.has('model')) url.searchParams.set('model', options.model ?? DEFAULT_REALTIME_MODEL);
  return url.toString();
}

/**
 * Options from the environment, for the demo server and the CLI: `OPENAI_API_KEY` (required),
 * `OPENAI_REALTIME_MODEL`, `OPENAI_REALTIME_INSTRUCTIONS`, `OPENAI_REALTIME_VOICE`,
 * `OPENAI_REALTIME_URL` (a compatible service, or a test's fake). Throws CONFIG_ERROR without a key.
 */
export function realtimeOptionsFromEnv(env: Record<string, string | undefined> = process.env): OpenAIRealtimeOptions {
  const apiKey = env.OPENAI_API_KEY;
  if (!apiKey) {
    throw new CallstreamError('CONFIG_ERROR', 'The openai-realtime handler needs an OpenAI API key, and OPENAI_API_KEY is not set.', {
      hint: 'set OPENAI_API_KEY (in the environment or in .env), or choose another handler.',
    });
  }
  return {
    apiKey,
    model: env.OPENAI_REALTIME_MODEL || undefined,
    instructions: env.OPENAI_REALTIME_INSTRUCTIONS || undefined,
    voice: env.OPENAI_REALTIME_VOICE || undefined,
    url: env.OPENAI_REALTIME_URL || undefined,
  };
}
