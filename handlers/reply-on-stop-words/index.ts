export { ReplyOnStopWords, type ReplyOnStopWordsOptions } from './reply-on-stop-words.js';
export type { StopWordHeard, Transcribe } from './stop-word-spotter.js';
export { type StopWordMatch, StopWordMatcher } from './stop-words.js';
export { openaiTranscriber, type OpenAITranscriberOptions } from './openai-transcriber.js';
