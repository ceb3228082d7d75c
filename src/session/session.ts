import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createConverter, type FrameConverter, ToFormat } from '../audio/convert.js';
import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import type { Clock, TimerHandle } from '../clock.js';
import { dtmfTones } from '../audio/dtmf.js';
import { CallstreamError, describeError } from '../errors.js';
import type { InputValues } from '../inputs/spec.js';
import type { Logger } from '../logger.js';
import { AdditionalOutputs, CloseStream, type EmitItem, isAudioFrame } from './emit.js';
import { type AudioHandler, instantiateHandler, isSessionFunction, resolveInputFormat, type SessionContext } from './handler.js';
import { HandlerRunner } from './handler-runner.js';
import type { IdleWatch } from './idle-watch.js';
import { VideoRunner } from './video-runner.js';
import type { SessionObserver } from './observer.js';
import type { VideoFrame } from '../video/frame.js';
import { Playback, type PlaybackSink } from './playback.js';
import type { RoomAccess, SessionOutlet } from './room-access.js';
import type {
  CallFacts,
  CallStatusEvent,
  ClientMessage,
  EndReason,
  HangUpOptions,
  InterruptReport,
  PlayedEvent,
  StopInfo,
  StreamStatusEvent,
  TransportKind,
} from './types.js';

/** The transport's side of a session: how audio, marks, messages and the close reach the far end. */
export interface TransportLink extends PlaybackSink {
  readonly kind: TransportKind;
  /** The format the transport carries, after its own codec. */
  readonly format: AudioFormat;
  /** The format it sends, when different (FastRTC's WebSocket default: the handler's own rates). */
  readonly outputFormat?: AudioFormat;
  /** False where no client can answer `send_input` (a phone call). */
  readonly hasClient?: boolean;
  /** Call control beyond the connection, where the transport has it. */
  readonly control?: CallControl;
  /** Sends a video frame (WebRTC peers of video streams). */
  sendVideo?(frame: VideoFrame): void;
  /** Counters the transport keeps (packets, keyframe asks...), for logs and tests. */
  stats?(): Record<string, number>;
  /** Sends a FastRTC-style message, where the transport has a channel for them. */
  sendMessage(message: ClientMessage): void;
  /** Closes the connection because the session ended (idempotent). */
  close(reason: EndReason, message: string): void;
}

/** What a transport can do to the call beyond closing its connection (phone calls: Twilio's REST API). */
export interface CallControl {
  /** Ends the call itself (REST `status=completed`), or says `say` first (REST update with `<Say>` and `<Hangup>`). */
  hangUp(say?: string): Promise<void>;
  /** Moves the call to a number or SIP URI (REST update with `<Dial>`). */
  transfer(target: string): Promise<void>;
}

/** `send-receive`: both ways; `receive`: the server only sends; `send`: the server only receives. */
export type StreamMode = 'send-receive' | 'send' | 'receive';

export interface SessionInit {
  id?: string;
  link: TransportLink;
  handler: AudioHandler;
  facts: CallFacts;
  mode: StreamMode;
  clock: Clock;
  logger: Logger;
  /** The place under the concurrency limit it holds; given back when it ends. */
  place?: { release(): void };
  /** A session not started within this time after it was opened ends (`connect_timeout`). */
  connectTimeoutMs?: number;
  /** Once started, a session whose client sends nothing for `timeoutMs` ends (`idle_timeout`). */
  idle?: { watch: IdleWatch; timeoutMs: number };
  timeLimitMs?: number;
  leadMs: number;
  /** The clock outbound audio is paced on (default `clock`): a shared PacingClock batches sessions' timers. */
  pacingClock?: Clock;
  markEveryMs: number;
  maxQueuedMs: number;
  /** Starting values of the additional inputs. */
  inputs?: InputValues;
  /** Inbound frames kept while the handler is busy (older ones are dropped). */
  inboundBacklog: number;
  /** How far a generator or emit() may run ahead of playback (ms of queued audio). */
  aheadMs: number;
  /** Per-frame reports for metrics. */
  observer?: SessionObserver;
  /** The Stream's rooms, for `ctx.join()`; without them joining rejects with UNSUPPORTED. */
  rooms?: RoomAccess<Session>;
}

export interface SessionEvents {
  start: [];
  stop: [info: StopInfo];
  /** Inbound audio in the handler's format (for callback-style handlers). */
  audio: [frame: AudioFrame];
  dtmf: [digit: string];
  played: [event: PlayedEvent];
  error: [error: CallstreamError];
  output: [outputs: AdditionalOutputs];
  inputs: [values: InputValues];
  /** Inbound audio as the transport carried it (for recordings). */
  inbound: [frame: AudioFrame];
  /** Outbound audio as sent, and when the far end plays it (clock ms; for recordings). */
  outbound: [frame: AudioFrame, playAt: number];
  message: [message: ClientMessage];
  /** The phone call's status changed (Twilio's status callbacks). */
  callStatus: [event: CallStatusEvent];
  /** The media stream's own status event. */
  streamStatus: [event: StreamStatusEvent];
}

type State = 'new' | 'live' | 'closing' | 'closed';

/**
 * One connection, whatever the transport: it owns the handler instance, converts audio between the
 * transport's format and the handler's, paces output, and enforces the time limit and the idle
 * deadline. Transports call `start`, `heard`, `receiveAudio`, `receiveDtmf`, `acknowledgeMark` and
 * `end`; nothing else.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly id: string;
  /** Unguessable; a client needs it with the id to reach this session's inputs and outputs. */
  readonly secret: string;
  readonly transport: TransportKind;
  readonly facts: CallFacts;
  readonly inputFormat: AudioFormat;
  readonly context: SessionContext;
  readonly log: Logger;
  readonly ended: Promise<StopInfo>;
  startedAt = 0;
  framesIn = 0;
  /** The client asked for outputs as messages on its own channel (no SSE connection needed). */
  inlineOutputs = false;
  /** The session's WAV file, when the Stream records (finished resolves once it is closed). */
  recording: { file: string; finished: Promise<void> } | undefined;

  private state: State = 'new';
  private readonly playback: Playback;
  private readonly runner: HandlerRunner;
  private readonly video: VideoRunner | undefined;
  private readonly inbound: FrameConverter;
  private readonly outbound: ToFormat;
  private readonly abort = new AbortController();
  private timeLimit: TimerHandle | undefined;
  private connectDeadline: TimerHandle | undefined;
  /** Anything came from the client since the idle watch last looked. */
  private active = false;
  private resolveEnded!: (info: StopInfo) => void;
  private inputValues: InputValues;
  private inputWaiters: ((values: InputValues) => void)[] = [];
  private readonly cleanups: ((info: StopInfo) => void)[] = [];
  /** Listeners of the per-frame events, counted as they come and go: no lookup per frame. */
  private readonly listening = { inbound: 0, audio: 0, outbound: 0 };

  constructor(private readonly init: SessionInit) {
    super();
    this.id = init.id ?? randomUUID();
    this.secret = randomBytes(18).toString('base64url');
    this.transport = init.link.kind;
    this.facts = init.facts;
    this.log = init.logger.child({ sessionId: this.id, transport: this.transport });
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.on('error', () => {}); // errors are logged where raised; listeners are optional
    const count = (event: string | symbol, by: number) => {
      if (event === 'inbound' || event === 'audio' || event === 'outbound') this.listening[event] += by;
    };
    const untyped = this as EventEmitter;
    untyped.on('newListener', (event: string | symbol) => count(event, 1));
    untyped.on('removeListener', (event: string | symbol) => count(event, -1));
    this.inputValues = { ...init.inputs };

    const handler = instantiateHandler(init.handler);
    this.inputFormat = resolveInputFormat(handler, init.link.format);
    this.inbound = createConverter(init.link.format, this.inputFormat);
    const outputFormat = init.link.outputFormat ?? init.link.format;
    // The queue copies what it keeps, so converted output may live in the converters' own buffers.
    this.outbound = new ToFormat(outputFormat, { reuse: true });
    const observer = init.observer;
    this.playback = new Playback(init.link, {
      format: outputFormat,
      clock: init.pacingClock ?? init.clock,
      leadMs: init.leadMs,
      markEveryMs: init.markEveryMs,
      maxQueuedMs: init.maxQueuedMs,
      onSent: (frame, playAt, frames) => {
        observer?.framesOut(frames);
        if (this.listening.outbound > 0) this.emit('outbound', frame, playAt);
      },
    });
    this.playback.on('played', (event) => this.emit('played', event));
    this.playback.on('overflow', (ms) => this.log.warn({ droppedMs: ms, totalDroppedMs: this.playback.droppedMs }, 'outbound queue full: audio dropped'));
    this.context = this.createContext();
    this.runner = new HandlerRunner(handler, this.context, {
      send: (item) => this.send(item),
      fail: (error, during) => this.fail(error, during),
      room: () => this.playback.belowMs(init.aheadMs),
      idleWait: () => new Promise((resolve) => init.clock.after(this.playback.frameMs, resolve)),
      handled: init.observer?.handled,
    }, init.inboundBacklog);
    if (observer) {
      this.playback.on('overflow', (ms) => observer.dropped('outbound', Math.round(ms / 20)));
      this.playback.on('lateness', (ms) => observer.lateness(ms));
    }
    if (!isSessionFunction(handler) && (handler.videoReceive || handler.videoEmit)) {
      this.video = new VideoRunner(handler, this.context, {
        sendVideo: (frame) => {
          if (this.state === 'live' && init.mode !== 'send') init.link.sendVideo?.(frame);
        },
        send: (item) => this.send(item),
        fail: (error, during) => this.fail(error, during),
      }, init.clock, this.log);
    }
    const connectMs = init.connectTimeoutMs;
    if (connectMs !== undefined) {
      this.connectDeadline = init.clock.after(connectMs, () => this.end('connect_timeout', `Not connected within ${connectMs} ms.`));
    }
  }

  /** Video frames received, handled and dropped (slow handler). */
  get videoStats(): { received: number; processed: number; dropped: number; handlerMs: number } | undefined {
    const video = this.video;
    return video && { received: video.received, processed: video.processed, dropped: video.dropped, handlerMs: video.handlerMs };
  }

  /** The transport's own counters. */
  transportStats(): Record<string, number> {
    return this.init.link.stats?.() ?? {};
  }

  /** A decoded camera frame from the transport. */
  receiveVideo(frame: VideoFrame): void {
    if (this.state !== 'live' || this.init.mode === 'receive') return;
    this.video?.receive(frame);
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Inbound frames dropped because the handler was slow. */
  get droppedInbound(): number {
    return this.runner.droppedFrames;
  }

  /** Outbound audio dropped because the queue was full (ms). */
  get droppedOutboundMs(): number {
    return this.playback.droppedMs;
  }

  /** Audio queued for sending (ms). */
  get queuedMs(): number {
    return this.playback.queuedMs;
  }

  /**
   * Registers what must be undone when the session ends (directory entries, feeds, metrics, the
   * peer): the one place a session's end is cleaned up. Cleanups run in the order registered, once,
   * each on its own (one that throws is logged and the others still run), before `stop` is emitted.
   * Registered after the end, it runs on the next tick.
   */
  onEnd(cleanup: (info: StopInfo) => void): void {
    if (this.state === 'closed') {
      void this.ended.then(cleanup);
      return;
    }
    this.cleanups.push(cleanup);
  }

  /** Starts the handler and the time limit. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'live';
    this.startedAt = this.init.clock.now();
    this.connectDeadline?.cancel();
    if (this.init.timeLimitMs !== undefined) {
      this.timeLimit = this.init.clock.after(this.init.timeLimitMs, () =>
        this.end('time_limit', `The session reached its time limit of ${this.init.timeLimitMs! / 1000} s.`),
      );
    }
    if (this.init.idle) this.init.idle.watch.add(this, this.init.idle.timeoutMs);
    this.log.info({ facts: this.facts, inputFormat: this.inputFormat }, 'session started');
    this.emit('start');
    void this.runner.start();
  }

  /**
   * The client sent something (a media frame, a ping, an RTCP or STUN packet...): the transport says so
   * for anything it receives, so silence that still flows is not idleness. One assignment, per packet.
   */
  heard(): void {
    this.active = true;
  }

  /** @internal For the idle watch: whether anything came since it last asked. */
  takeHeard(): boolean {
    const active = this.active;
    this.active = false;
    return active;
  }

  /** @internal The idle watch's verdict. */
  endIdle(quietMs: number): void {
    this.end('idle_timeout', `Nothing was received from the client for ${Math.round(quietMs / 100) / 10} s.`);
  }

  /** Inbound audio in the transport's format. */
  receiveAudio(frame: AudioFrame): void {
    if (this.state !== 'live') return;
    this.framesIn++;
    this.init.observer?.frameIn();
    if (this.listening.inbound > 0) this.emit('inbound', frame);
    if (this.init.mode === 'receive') return;
    const converted = this.inbound.convert(frame);
    this.runner.deliver(converted);
    if (this.listening.audio > 0) this.emit('audio', converted);
  }

  receiveDtmf(digit: string): void {
    if (this.state !== 'live') return;
    this.log.debug('dtmf'); // never the digit: keys are PINs and card numbers
    this.emit('dtmf', digit);
    this.runner.dtmf(digit);
  }

  /** The far end echoed a mark: `played`, or `flushed` when it comes back after a clear. */
  acknowledgeMark(name: string): 'played' | 'flushed' {
    return this.playback.acknowledge(name);
  }

  /** Queues audio (any format), an output or a CloseStream, as the handler's ctx.send does. */
  send(item: EmitItem): void {
    if (this.state !== 'live') return;
    if (isAudioFrame(item)) {
      if (this.init.mode !== 'send') this.playback.enqueue(this.outbound.convert(item));
    } else if (item instanceof AdditionalOutputs) {
      this.emit('output', item);
    } else if (item instanceof CloseStream) {
      void this.close(item.message);
    } else {
      this.fail(new TypeError(`A handler emitted something that is not audio, AdditionalOutputs or CloseStream: ${String(item)}`), 'emit');
    }
  }

  /** Sends a message to the client, where the transport can carry it. */
  sendMessage(message: ClientMessage): void {
    if (this.state === 'closed') return;
    this.emit('message', message);
    this.init.link.sendMessage(message);
  }

  /** @internal What a room needs to mix into this session's outbound audio. */
  get outlet(): SessionOutlet {
    const { link, mode } = this.init;
    return { transport: link, format: this.outbound.to, inboundFormat: link.format, aheadMs: this.playback.aheadMs, sends: mode !== 'send', receives: mode !== 'receive' };
  }

  /**
   * @internal Sends the handler's paced audio through `sink` (a room that mixes the others' voices
   * into it) instead of straight to the transport; without a sink, straight to the transport again.
   */
  routeOutbound(sink?: PlaybackSink): void {
    this.playback.redirect(sink ?? this.init.link);
  }

  interrupt(): InterruptReport {
    const report = this.playback.interrupt();
    this.log.debug({ report }, 'interrupted');
    return report;
  }

  /** The latest additional-input values. */
  get inputs(): Readonly<InputValues> {
    return this.inputValues;
  }

  /** Sets additional-input values (already validated) and wakes a handler waiting for them. */
  setInputs(values: InputValues): void {
    this.inputValues = { ...this.inputValues, ...values };
    this.emit('inputs', this.inputValues);
    const waiters = this.inputWaiters;
    this.inputWaiters = [];
    for (const resolve of waiters) resolve(this.inputValues);
  }

  /** Asks the client for its inputs and waits for them (at once when there is no client). */
  waitForInputs(): Promise<InputValues> {
    if (this.init.link.hasClient === false || this.state === 'closed') return Promise.resolve(this.inputValues);
    const waiting = new Promise<InputValues>((resolve) => this.inputWaiters.push(resolve));
    this.sendMessage({ type: 'send_input', data: [] });
    return waiting;
  }

  /**
   * Hangs up: a phone call ends over Twilio's REST API when the Stream has credentials (else its
   * media stream closes, which ends a call answered with callstream's TwiML); WebRTC and WebSocket
   * sessions close cleanly. `options.say` is spoken first on a phone call with REST credentials, and
   * sent in the `end_stream` message to browsers and programs.
   */
  async hangUp(options: HangUpOptions = {}): Promise<void> {
    if (this.state === 'closed') return;
    const say = options.say?.trim() || undefined;
    const control = this.init.link.control;
    if (control) {
      try {
        await control.hangUp(say);
      } catch (error) {
        this.log.warn({ err: error }, 'hang-up over REST failed: closing the stream instead');
      }
    }
    if (say !== undefined) this.sendMessage({ type: 'end_stream', data: say });
    this.end('hangup', say ?? 'The handler hung up.');
  }

  /**
   * Transfers the call to another party (a phone call: a number or a SIP URI, through its
   * transport's call control); the session ends as the call moves. Transports without such control
   * refuse with UNSUPPORTED.
   */
  async transfer(target: string): Promise<void> {
    const control = this.init.link.control;
    if (!control) {
      throw new CallstreamError('UNSUPPORTED', `transfer() works on phone calls with Twilio credentials; this ${this.transport} session cannot be transferred.`);
    }
    await control.transfer(target);
    this.log.info({ target }, 'call transferred');
    this.end('hangup', `Transferred to ${target}.`);
  }

  /**
   * Plays DTMF digits as in-band tones in the outbound audio (Media Streams cannot send DTMF
   * events). Returns their duration (ms).
   */
  sendDigits(digits: string): number {
    const tones = dtmfTones(digits, 8000);
    this.send({ encoding: 'pcm16', sampleRate: 8000, samples: tones });
    return (tones.length * 1000) / 8000;
  }

  /** Tells the handler about the call behind this session (its transport's status events); nothing once closed. */
  tell<E extends 'callStatus' | 'streamStatus'>(event: E, ...payload: SessionEvents[E]): void {
    if (this.state === 'closed') return;
    this.emit(event, ...(payload as never));
  }

  /** Ends the session once queued audio has played (the handler's CloseStream). */
  async close(message = 'The handler ended the stream.'): Promise<void> {
    if (this.state !== 'live') return;
    this.state = 'closing';
    this.sendMessage({ type: 'end_stream', data: message });
    await this.playback.drain();
    this.finish('handler_closed', message);
  }

  /** Ends the session now. Idempotent; safe from any state. */
  end(reason: EndReason, message: string = reason): void {
    if (this.state === 'closed') return;
    if (reason === 'time_limit' || reason === 'server_shutdown' || reason === 'idle_timeout') this.sendMessage({ type: 'end_stream', data: message });
    this.finish(reason, message);
  }

  private finish(reason: EndReason, message: string): void {
    if (this.state === 'closed') return;
    const wasStarted = this.state !== 'new';
    this.state = 'closed';
    this.timeLimit?.cancel();
    this.connectDeadline?.cancel();
    this.init.idle?.watch.remove(this);
    this.abort.abort(new CallstreamError('SESSION_CLOSED', `Session ended: ${message}`));
    this.playback.close();
    this.video?.stop();
    void this.runner.stop();
    this.init.link.close(reason, message);
    this.init.place?.release();
    const info: StopInfo = { reason, message, durationMs: wasStarted ? Math.round(this.init.clock.now() - this.startedAt) : 0 };
    this.log.info(
      {
        reason,
        message,
        durationMs: info.durationMs,
        facts: this.facts,
        framesIn: this.framesIn,
        droppedInbound: this.droppedInbound,
        droppedOutboundMs: this.droppedOutboundMs,
        late: this.playback.lateCount,
        video: this.videoStats,
        transportStats: this.transportStats(),
      },
      'session stopped',
    );
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup(info);
      } catch (error) {
        this.log.error({ err: error }, 'a cleanup at session end failed');
      }
    }
    try {
      this.emit('stop', info);
    } catch (error) {
      this.log.warn({ err: error }, 'a stop listener threw');
    }
    this.resolveEnded(info);
    for (const resolve of this.inputWaiters.splice(0)) resolve(this.inputValues);
    this.removeAllListeners('audio');
    this.removeAllListeners('inbound');
    this.removeAllListeners('outbound');
  }

  private fail(error: unknown, during: string): void {
    if (this.state === 'closed') return;
    const wrapped = new CallstreamError('HANDLER_ERROR', `The handler failed in ${during}(): ${describeError(error)}`, { cause: error });
    this.log.error({ err: error, during }, 'handler error: ending the session');
    this.emit('error', wrapped);
    this.sendMessage({ type: 'error', message: wrapped.message });
    this.end('handler_error', wrapped.message);
  }

  private createContext(): SessionContext {
    const session = this;
    return {
      id: this.id,
      transport: this.transport,
      facts: this.facts,
      inputFormat: this.inputFormat,
      get inputs() {
        return session.inputs;
      },
      waitForInputs: () => session.waitForInputs(),
      signal: this.abort.signal,
      log: this.log,
      send: (item) => session.send(item),
      room: () => session.playback.belowMs(session.init.aheadMs),
      get queuedMs() {
        return session.playback.queuedMs;
      },
      interrupt: () => session.interrupt(),
      join: (name, options) => {
        const rooms = session.init.rooms;
        if (!rooms) return Promise.reject(new CallstreamError('UNSUPPORTED', 'This session has no rooms to join (it was not opened by a Stream).'));
        return rooms.join(session, name, options);
      },
      leave: () => session.init.rooms?.leave(session) ?? Promise.resolve(),
      hangUp: (options) => session.hangUp(options),
      transfer: (target) => session.transfer(target),
      sendDigits: (digits) => session.sendDigits(digits),
      sendMessage: (message) => session.sendMessage(message),
      audio: () => session.runner.audio(),
      play: (items, options) => session.runner.pump(items, options),
      close: (message) => void session.close(message),
      on: (event, listener) => void session.on(event, listener as never),
      off: (event, listener) => void session.off(event, listener as never),
    };
  }
}
