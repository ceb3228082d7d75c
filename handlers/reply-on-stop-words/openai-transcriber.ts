import { CallstreamError, wavHeader } from '../../src/index.js';
import { DEFAULT_TRANSCRIPTION_MODEL } from '../openai-realtime/options.js';
import type { Transcribe } from './stop-word-spotter.js';

/** Options of `openaiTranscriber()`. */
export interface OpenAITranscriberOptions {
  /** Default: `OPENAI_API_KEY`. */
  apiKey?: string;
  /** The API's base URL (a compatible service, a proxy, a test's fake). Default: `OPENAI_BASE_URL`, else OpenAI's. */
  baseURL?: string;
  /** Default `gpt-4o-mini-transcribe`; `whisper-1`, `gpt-4o-transcribe`... */
  model?: string;
  /** The language spoken (ISO-639-1, e.g. `en`): faster and more accurate when given. */
  language?: string;
  /** Text that guides the model: list the stop words here to make them easier to hear. */
  prompt?: string;
  /** Each request is given up after this long (ms). Default 10000. */
  timeoutMs?: number;
}

/** The parts of the `openai` package this uses, so that it is needed only when a transcriber runs. */
interface OpenAIModule {
  OpenAI: new (options: { apiKey: string; baseURL?: string; timeout: number; maxRetries: number }) => {
    audio: {
      transcriptions: {
        create(body: { file: unknown; model: string; language?: string; prompt?: string }, options: { signal: AbortSignal }): PromiseLike<{ text: string }>;
      };
    };
  };
  toFile(data: Buffer, name: string, options: { type: string }): Promise<unknown>;
}

/** Loads the optional `openai` package; a clear error when it is not installed. */
export async function loadOpenAI(specifier = 'openai'): Promise<OpenAIModule> {
  try {
    return (await import(specifier)) as OpenAIModule;
  } catch (error) {
    throw new CallstreamError('CONFIG_ERROR', `openaiTranscriber() needs the "${specifier}" package, which could not be loaded.`, {
      cause: error,
      hint: 'npm install openai (an optional peer dependency of callstream; it declares Node >= 22).',
    });
  }
}

/** `pcm` as a mono 16-bit WAV file. */
export function wavBytes(pcm: Int16Array, sampleRate: number): Buffer {
  return Buffer.concat([wavHeader(sampleRate, 1, pcm.byteLength), Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]);
}

/**
 * A `transcribe` function on OpenAI's transcription API (`audio.transcriptions.create`), through the
 * official `openai` client: an optional peer dependency, loaded when the transcriber is made. Each
 * window is sent as a WAV file. Throws CONFIG_ERROR at once without an API key.
 */
export function openaiTranscriber(options: OpenAITranscriberOptions = {}, env: Record<string, string | undefined> = process.env): Transcribe {
  const apiKey = options.apiKey ?? env.OPENAI_API_KEY;
  if (!apiKey) {
    throw new CallstreamError('CONFIG_ERROR', 'openaiTranscriber() needs an OpenAI API key, and OPENAI_API_KEY is not set.', {
      hint: 'set OPENAI_API_KEY (in the environment or in .env), or pass { apiKey }.',
    });
  }
  const baseURL = options.baseURL ?? (env.OPENAI_BASE_URL || undefined);
  const model = options.model ?? DEFAULT_TRANSCRIPTION_MODEL;
  let loaded: Promise<{ module: OpenAIModule; client: InstanceType<OpenAIModule['OpenAI']> }> | undefined;
  const load = () =>
    (loaded ??= loadOpenAI().then((module) => ({
      module,
      // No retries: a window answered late is no use; the next window covers the same audio.
      client: new module.OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), timeout: options.timeoutMs ?? 10000, maxRetries: 0 }),
    })));
  // Loaded now, so that the first window does not wait for it; a failure is reported by the first transcription.
  load().catch(() => {});
  return async (pcm, sampleRate, signal) => {
    const { module, client } = await load();
    const file = await module.toFile(wavBytes(pcm, sampleRate), 'audio.wav', { type: 'audio/wav' });
    const body = { file, model, ...(options.language ? { language: options.language } : {}), ...(options.prompt ? { prompt: options.prompt } : {}) };
    const result = await client.audio.transcriptions.create(body, { signal });
    return result.text;
  };
}
