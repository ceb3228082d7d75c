import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import type { InputValues } from '../inputs/spec.js';
import type { Logger } from '../logger.js';
import type { VideoFrame } from '../video/frame.js';
import type { EmitItem } from './emit.js';
import type { JoinOptions, RoomHandle } from './room-access.js';
import type { CallFacts, CallStatusEvent, ClientMessage, HangUpOptions, InterruptReport, PlayedEvent, StopInfo, StreamStatusEvent, TransportKind } from './types.js';

/**
 * The audio format a handler asks for.
 * - `'native'`: whatever the transport carries (μ-law 8 kHz on a phone call), with no transcoding;
 * - `{ encoding: 'mulaw', sampleRate: 8000 }`: a phone call's bytes untouched, other transports converted;
 * - `{ encoding: 'pcm16', sampleRate }`: 16-bit PCM at that rate, resampled as needed;
 * - a function of the transport's format, for a choice per connection: e.g. μ-law untouched where the
 *   wire carries μ-law 8 kHz, 24 kHz PCM elsewhere (what a speech-to-speech bridge wants).
 */
export type FormatRequest = 'native' | AudioFormat | ((transport: AudioFormat) => AudioFormat);

/** FastRTC's rates, kept as defaults: handlers hear 48 kHz PCM unless they ask otherwise. */
export const DEFAULT_INPUT_FORMAT: AudioFormat = { encoding: 'pcm16', sampleRate: 48000 };
/** FastRTC's output rate: what a handler is assumed to send unless it says otherwise. */
export const DEFAULT_OUTPUT_FORMAT: AudioFormat = { encoding: 'pcm16', sampleRate: 24000 };

/** Options of `ctx.play()`. */
export interface PlayOptions {
  /** Stops sending (the items are not consumed further) when aborted. */
  signal?: AbortSignal;
  /** Called with each item before it is sent. */
  onItem?(item: EmitItem): void;
}

/** Events a handler can listen to through its context. */
export interface SessionContextEvents {
  /** Inbound audio in the handler's format (the callback shape). */
  audio: [frame: AudioFrame];
  dtmf: [digit: string];
  played: [event: PlayedEvent];
  /** New additional-input values arrived. */
  inputs: [values: InputValues];
  stop: [info: StopInfo];
  /** The phone call's status changed (Twilio's status callbacks; `facts.callStatus` follows). */
  callStatus: [event: CallStatusEvent];
  /** The media stream's own status event (stream-started, stream-stopped, stream-error). */
  streamStatus: [event: StreamStatusEvent];
}

/** What a handler sees of its session: the same object whatever the transport. */
export interface SessionContext {
  /** The session's id (a phone call's streamSid-independent id; the WebRTC/WebSocket id). */
  readonly id: string;
  readonly transport: TransportKind;
  /** Caller facts: CallSid, From, To, custom parameters... */
  readonly facts: Readonly<CallFacts>;
  /** The format of frames given to `receive()` / yielded by `audio()`. */
  readonly inputFormat: AudioFormat;
  /** The latest values of the Stream's additional inputs (FastRTC's latest_args). */
  readonly inputs: Readonly<InputValues>;
  /**
   * Asks the client for fresh inputs (`send_input`) and resolves when they arrive (FastRTC's
   * wait_for_args). Resolves at once where there is no client to ask (a phone call).
   */
  waitForInputs(): Promise<InputValues>;
  /** Aborted when the session ends. Pass it to fetches so they stop with the call. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Queues audio (any format; converted for the transport), outputs, or a CloseStream. */
  send(item: EmitItem): void;
  /**
   * Resolves when the outbound queue has room again (no more than the Stream's `aheadMs` queued):
   * await it between frames to produce audio no faster than it can be played.
   */
  room(): Promise<void>;
  /** Audio queued for sending (ms). */
  readonly queuedMs: number;
  /** Drops queued audio, tells the far end to flush, and reports what of the reply was heard. */
  interrupt(): InterruptReport;
  /**
   * Joins the room `name` (created unless `options.create` is false), leaving any room this session
   * is in. The participant then hears the others' mix besides this handler's own audio; the handler
   * still gets its audio, and speaks to the whole room with the returned handle's `send()`. Rejects
   * with ROOM_PIN_REQUIRED, BAD_PIN, ROOM_FULL, ROOM_NOT_FOUND, ROOM_LIMIT or BAD_REQUEST. See docs/rooms.md.
   */
  join(name: string, options?: JoinOptions): Promise<RoomHandle>;
  /** Leaves the room this session is in (nothing when it is in none). */
  leave(): Promise<void>;
  /** Hangs up (phone: over Twilio's REST API; others: a clean close), saying `options.say` first where it can. */
  hangUp(options?: HangUpOptions): Promise<void>;
  /** Transfers a phone call to an E.164 number or a SIP URI; other transports reject. */
  transfer(target: string): Promise<void>;
  /** Plays DTMF digits (`0-9*#A-D`, `w` = 0.5 s pause) as in-band tones; returns their length (ms). */
  sendDigits(digits: string): number;
  /** Sends a FastRTC-style message to the client (ignored by transports without a message channel). */
  sendMessage(message: ClientMessage): void;
  /** Inbound audio as an async iterable, for function handlers (bounded; old frames dropped when slow). */
  audio(): AsyncIterable<AudioFrame>;
  /**
   * Sends what `items` yields at playback pace (each item sent, then `room()` awaited), the way a
   * generator handler's output is sent, until it ends or `options.signal` aborts (the session's end
   * aborts it too). Rejects with what `items` threw, unless aborted. `onItem` sees each item first.
   */
  play(items: AsyncIterable<EmitItem> | Iterable<EmitItem>, options?: PlayOptions): Promise<void>;
  /** Ends the session once queued audio has played. */
  close(message?: string): void;
  on<E extends keyof SessionContextEvents>(event: E, listener: (...args: SessionContextEvents[E]) => void): void;
  off<E extends keyof SessionContextEvents>(event: E, listener: (...args: SessionContextEvents[E]) => void): void;
}

/** A value or a promise of it. @inline */
type MaybePromise<T> = T | Promise<T>;

/**
 * FastRTC's stream-handler shape. One copy per session (`copy()`, or a shallow clone when absent).
 * `emit()` is awaited in a loop; when it returns nothing the loop waits for the next inbound frame,
 * so a handler never spins a core.
 */
export interface StreamHandler {
  /** Format of frames given to receive(). Default: 16-bit PCM at 48 kHz (FastRTC's). */
  readonly inputFormat?: FormatRequest;
  /**
   * Format the handler sends (frames carry their own format, so this only tells clients that let the
   * server choose, e.g. FastRTC's WebSocket default). Default: the input format when that is
   * declared, else 16-bit PCM at 24 kHz (FastRTC's).
   */
  readonly outputFormat?: FormatRequest;
  copy?(): StreamHandler;
  startUp?(ctx: SessionContext): MaybePromise<void>;
  receive?(frame: AudioFrame, ctx: SessionContext): MaybePromise<void>;
  emit?(ctx: SessionContext): MaybePromise<EmitItem | undefined | void>;
  onDtmf?(digit: string, ctx: SessionContext): MaybePromise<void>;
  shutdown?(ctx: SessionContext): MaybePromise<void>;
  /**
   * A camera frame (video and audio-video streams). Never queued: while the handler is busy with
   * one frame, newer frames replace the waiting one and older ones are dropped (and counted).
   */
  videoReceive?(frame: VideoFrame, ctx: SessionContext): MaybePromise<void>;
  /** Awaited after each videoReceive: a frame to send back, an AdditionalOutputs, or nothing. */
  videoEmit?(ctx: SessionContext): MaybePromise<VideoFrame | EmitItem | undefined | void>;
}

/**
 * FastRTC's video handler: a camera frame in, a frame out (or AdditionalOutputs, a CloseStream, or
 * nothing). `new Stream(fn, { modality: 'video' })`.
 */
export type VideoFunction = (
  frame: VideoFrame,
  inputs: Readonly<InputValues>,
) => VideoFrame | EmitItem | undefined | void | Promise<VideoFrame | EmitItem | undefined | void>;

/**
 * The simple shape: a function called once per session. It may return an async iterable of items
 * to send (an async generator), or work through `ctx.audio()` / `ctx.send()` and return nothing.
 * Finishing does not end the session: send a CloseStream (or call ctx.close()) for that.
 */
export interface SessionFunction {
  (ctx: SessionContext): AsyncIterable<EmitItem> | Iterable<EmitItem> | Promise<void> | void;
  inputFormat?: FormatRequest;
  outputFormat?: FormatRequest;
}

/** Anything `new Stream(handler)` accepts for audio. */
export type AudioHandler = StreamHandler | SessionFunction;

export function isSessionFunction(handler: AudioHandler): handler is SessionFunction {
  return typeof handler === 'function';
}

/** The per-session instance of a handler: `copy()` when it has one, a shallow clone otherwise. */
export function instantiateHandler(handler: AudioHandler): AudioHandler {
  if (isSessionFunction(handler)) return handler;
  if (typeof handler.copy === 'function') return handler.copy();
  return Object.assign(Object.create(Object.getPrototypeOf(handler) as object) as StreamHandler, handler);
}

/** Resolves a handler's format request against what the transport carries. */
export function resolveInputFormat(handler: AudioHandler, transport: AudioFormat): AudioFormat {
  return resolveRequest(handler.inputFormat ?? DEFAULT_INPUT_FORMAT, transport);
}

/**
 * The handler's declared output format, resolved against what the transport carries. A handler that
 * declares its input format but not its output is taken to answer in the same format; one that
 * declares neither gets FastRTC's defaults (48 kHz in, 24 kHz out).
 */
export function resolveOutputFormat(handler: AudioHandler, transport: AudioFormat): AudioFormat {
  return resolveRequest(handler.outputFormat ?? handler.inputFormat ?? DEFAULT_OUTPUT_FORMAT, transport);
}

function resolveRequest(request: FormatRequest, transport: AudioFormat): AudioFormat {
  if (request === 'native') return transport;
  return typeof request === 'function' ? request(transport) : request;
}
