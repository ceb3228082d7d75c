export { modelFormat, OpenAIRealtimeBridge, openaiRealtime, type RealtimeOutput } from './bridge.js';
export { FALLBACK_TONE_HZ, fallbackTone } from './fallback.js';
export type { HeardItem } from './heard-audio.js';
export {
  DEFAULT_REALTIME_MODEL,
  DEFAULT_TRANSCRIPTION_MODEL,
  OPENAI_REALTIME_URL,
  type OpenAIRealtimeOptions,
  realtimeOptionsFromEnv,
  realtimeUrl,
  type ToolCallHook,
} from './options.js';
export type { RealtimeProtocol, RealtimeTool } from './protocol.js';
