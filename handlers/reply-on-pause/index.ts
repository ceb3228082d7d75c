export {
  ReplyOnPause,
  type ReplyFunction,
  type ReplyOnPauseOptions,
  type ReplyResult,
  type StartupFunction,
  type TurnContext,
  type Utterance,
  type VadOptions,
} from './reply-on-pause.js';
export type { PauseDetector, SpeechScorer } from './pause-detector.js';
export { EnergyDetector, type EnergyDetectorOptions } from './energy-detector.js';
export { SileroDetector, sileroAvailable, sileroModelPath } from './silero-detector.js';
export { type SpeechSpan, TurnDetector, type TurnDetectorOptions, type TurnEvent } from './turn-detector.js';
