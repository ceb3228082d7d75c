/**
 * callstream's public API: the Stream, sessions and handler shapes, audio and video frames, Twilio REST.
 * @module callstream
 */
export { Stream, type StreamEvents, type StreamStatus } from './stream.js';
export type {
  ClusterOptions,
  CustomParameters,
  IceServer,
  IncomingCall,
  Modality,
  OutputSpec,
  RateLimitOptions,
  RtcConfiguration,
  StreamMode,
  StreamOptions,
  TelephoneOptions,
  UiArgs,
  WebRtcOptions,
  WebSocketOptions,
} from './options.js';
export type { InputSpec, InputValues } from './inputs/spec.js';
export type { OutputEvent } from './outputs/output-feeds.js';
export type { RecordOptions } from './recording/recorder.js';
export { wavHeader } from './recording/wav-writer.js';
export type { CorsOptions } from './http/cors.js';
export { accessTokenAuthorizer } from './http/access-token.js';
export type { RateLimitRule } from './http/rate-limit.js';
export { type EventStream, type EventStreamLimits, type EventStreamOptions, EventStreams, eventStreamsOf } from './http/sse.js';
export { type CallControl, Session, type SessionEvents, type TransportLink } from './session/session.js';
export type { SessionHandle } from './session/handle.js';
export type { JoinOptions, LeaveReason, ParticipantInfo, RoomCloseReason, RoomEvents, RoomHandle } from './session/room-access.js';
export type { Room, RoomEventMap, RoomInfo } from './rooms/room.js';
export type { RoomsOptions, StreamRooms } from './rooms/rooms.js';
export { WrongPinError } from './rooms/room-pin.js';
export {
  type AudioHandler,
  DEFAULT_INPUT_FORMAT,
  type FormatRequest,
  type PlayOptions,
  type SessionContext,
  type SessionContextEvents,
  type SessionFunction,
  type StreamHandler,
  type VideoFunction,
} from './session/handler.js';
export { i420Size, i420ToRgba, rgbaToI420, type VideoFrame } from './video/frame.js';
export type { VideoCodec, VideoDecoder, VideoEncoder, VideoEncoderOptions } from './video/codec.js';
export { FfmpegVideoCodec, type FfmpegVideoCodecOptions } from './video/ffmpeg-codec.js';
export { AdditionalOutputs, CloseStream, type EmitItem } from './session/emit.js';
export type {
  CallFacts,
  CallStatus,
  CallStatusEvent,
  ClientMessage,
  EndReason,
  HangUpOptions,
  InterruptReport,
  PlayedEvent,
  StopInfo,
  StreamStatusEvent,
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
export { Resampler, type ResamplerOptions, type ResamplerQuality, resampleOnce } from './audio/resample.js';
export { createConverter, type FrameConverter } from './audio/convert.js';
export { CallstreamError, type ErrorCode } from './errors.js';
export { createTwilioClient, type TwilioClient, type TwilioCredentials, twilioCredentialsFromEnv, type TwilioOption } from './twilio/client.js';
export {
  type CallEnd,
  type CallProgressEvent,
  OutboundCall,
  type OutboundCallEvents,
  type OutboundCallOptions,
} from './twilio/outbound-call.js';
export { CallFailedError, type CallFailureReason } from './twilio/call-failed.js';
export type { TwilioRecordingOptions } from './twilio/call-recording.js';
export { TwilioApiError } from './twilio/api-error.js';
export { type TwilioIceOptions, twilioIceServers, twilioRtcConfiguration } from './twilio/ice-servers.js';
export { createLogger, type LogFormat, type Logger, REDACT_PATHS } from './logger.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export { createHttpServer, type HttpServerOptions, listen, type ListenOptions, type RunningServer } from './server.js';
export type { ConnectionLimits } from './http/connection-guard.js';
