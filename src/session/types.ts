import type { AudioFormat } from '../audio/frame.js';
import type { ErrorCode } from '../errors.js';

/** The wire a session arrived on. Handlers should not need it; it is there for logs and facts. */
export type TransportKind = 'telephone' | 'webrtc' | 'websocket';

/** Why a session ended. */
export type EndReason =
  | 'remote_stop'
  | 'remote_closed'
  /** The session never connected within its connect deadline. */
  | 'connect_timeout'
  | 'handler_closed'
  | 'handler_error'
  | 'time_limit'
  /** The client sent nothing at all (no media, ping or keep-alive) for the idle deadline (`idleTimeoutMs`). */
  | 'idle_timeout'
  | 'server_shutdown'
  | 'protocol_error'
  | 'hangup'
  /** Ended by server code (`stream.endSession`), possibly from another instance. */
  | 'ended_by_server';

/**
 * What the transport knows about the caller. For a phone call these come from Twilio's webhook and
 * the media stream's `start` message; other transports fill what they can.
 */
export interface CallFacts {
  callSid?: string;
  accountSid?: string;
  streamSid?: string;
  from?: string;
  to?: string;
  /** Twilio's `Direction`: `inbound`, `outbound-api`, `outbound-dial`. */
  direction?: string;
  callerName?: string;
  /** `<Parameter>` values from TwiML (telephone) or the client's start message. */
  customParameters: Record<string, string>;
  /** Remote address of the connection, when known. */
  remoteAddress?: string;
  /** The phone call's latest status (Twilio's status callbacks); `in-progress` while media flows. */
  callStatus?: CallStatus;
  /** Machine detection's verdict on an outbound call (`human`, `machine_start`, `fax`, `unknown`...). */
  answeredBy?: string;
  /** The Twilio-side recording of the call (`RE...`), when the Stream starts one. */
  recordingSid?: string;
}

/** What the webhook knows about an incoming phone call (Twilio's request parameters). */
export interface IncomingCall {
  callSid?: string;
  accountSid?: string;
  from?: string;
  to?: string;
  direction?: string;
  callerName?: string;
  /** Every parameter Twilio posted, as sent. */
  params: Record<string, string>;
  /** The query string of the webhook URL Twilio called (`.../telephone/incoming?room=sales`), signed with it. */
  query?: Record<string, string>;
}

/** Twilio's `CallStatus` values. */
export type CallStatus = 'queued' | 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** A phone call's status changed (Twilio's call status callback). */
export interface CallStatusEvent {
  status: CallStatus;
  /** Machine detection's verdict (`AnsweredBy`), when Twilio sent one. */
  answeredBy?: string;
  /** Length of the call in seconds (`CallDuration`), on the final callback. */
  durationS?: number;
  /** Twilio's `SequenceNumber` of the callback (ordering: callbacks may arrive out of order). */
  sequence?: number;
  /** Every parameter Twilio posted, as sent (empty when the status came from a REST answer). */
  params: Record<string, string>;
}

/** The media stream's own status (Twilio's `<Stream statusCallback>`). */
export interface StreamStatusEvent {
  event: 'stream-started' | 'stream-stopped' | 'stream-error';
  streamSid?: string;
  streamName?: string;
  /** Twilio's `StreamError`, on `stream-error`. */
  error?: string;
  params: Record<string, string>;
}

/** Options of `ctx.hangUp()`. */
export interface HangUpOptions {
  /**
   * A line for the caller, e.g. why the call ends: a phone call with Twilio REST credentials hears it
   * spoken (`<Say>`, then `<Hangup>`); browsers and programs get it in their `end_stream` message.
   * A phone call without credentials has no way to hear it: its stream just closes.
   */
  say?: string;
}

/** Progress of outbound audio at the far end. */
export interface PlayedEvent {
  /** Audio played since the session started (ms), as acknowledged or estimated. */
  playedMs: number;
  /** Audio sent or queued but not yet played (ms). */
  pendingMs: number;
  /** True when everything queued has been played: the handler's last utterance is over. */
  idle: boolean;
  /** How playedMs is known: far-end acknowledgements (Twilio marks) or the pacing clock. */
  basis: 'marks' | 'clock';
}

/** What `session.interrupt()` reports about the reply it cut. */
export interface InterruptReport {
  /** Audio of the interrupted utterance the far end played (ms), the best figure known. */
  playedMs: number;
  /** Of playedMs, what the far end acknowledged (marks); equals playedMs when basis is `clock`. */
  confirmedMs: number;
  /** Audio of the interrupted utterance that was dropped or flushed unplayed (ms). */
  unplayedMs: number;
  basis: 'marks' | 'clock';
}

/** A message for the client (FastRTC's data-channel / WebSocket messages). */
export type ClientMessage =
  | { type: 'send_input' | 'fetch_output' | 'end_stream' | 'stopword' | 'log' | 'update_connection' | 'output'; data: unknown }
  | { type: 'error' | 'warning'; message: string; /** What went wrong, for programs (e.g. `ROOM_FULL`). */ code?: ErrorCode };

/** Resolved audio formats of a session. */
export interface SessionFormats {
  /** What the transport carries on the wire after its codec (μ-law 8 kHz for Twilio). */
  transport: AudioFormat;
  /** What the handler receives. */
  handlerInput: AudioFormat;
}

/** How a session ended. */
export interface StopInfo {
  reason: EndReason;
  message: string;
  durationMs: number;
}
