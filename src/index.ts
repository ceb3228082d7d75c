/** callstream's public API. */
export { Stream, type StreamEvents } from './stream.js';
export type {
  CustomParameters,
  IceServer,
  IncomingCall,
  Modality,
  RtcConfiguration,
  StreamMode,
  StreamOptions,
  TelephoneOptions,
} from './options.js';
export { Session, type SessionEvents, type TransportLink } from './session/session.js';
export {
  type AudioHandler,
  DEFAULT_INPUT_FORMAT,
  type FormatRequest,
  type SessionContext,
  type SessionContextEvents,
  type SessionFunction,
  type StreamHandler,
} from './session/handler.js';
export { AdditionalOutputs, CloseStream, type EmitItem } from './session/emit.js';
export type {
  CallFacts,
  ClientMessage,
  EndReason,
  InterruptReport,
  PlayedEvent,
  StopInfo,
  TransportKind,
} from './session/types.js';
export {
  type AudioEncoding,
  type AudioFormat,
  type AudioFrame,
  frameDurationMs,
  type MulawFrame,
  mulawFrame,
  type PcmFrame,
  pcmFrame,
} from './audio/frame.js';
export { mulawDecode, mulawEncode } from './audio/mulaw.js';
export { Resampler, resampleOnce } from './audio/resample.js';
export { createConverter } from './audio/convert.js';
export { CallstreamError, type ErrorCode } from './errors.js';
export { createLogger, type Logger } from './logger.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export { createHttpServer, listen, type RunningServer } from './server.js';
