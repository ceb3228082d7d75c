import { EventEmitter } from 'node:events';
import type Router from '@koa/router';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import { ClientFaults } from './client-faults.js';
import { type Clock, systemClock } from './clock.js';
import { type Admission, type AdmissionRequest, admitSession } from './coordination/admission.js';
import type { Coordination, PlaceCounts } from './coordination/coordination.js';
import { createCoordination } from './coordination/create.js';
import { SessionDirectory } from './coordination/session-directory.js';
import { CallstreamError, isCallstreamError } from './errors.js';
import { clientKey } from './http/rate-limit.js';
import { defaultInputs, type InputValues } from './inputs/spec.js';
import { setInputs, setInputsOp } from './inputs/input-route.js';
import { createLogger, type Logger } from './logger.js';
import { StreamMetrics } from './metrics/stream-metrics.js';
import { EventStreams } from './http/sse.js';
import { normalizePublicUrl, type ResolvedOptions, resolveOptions, type StreamOptions } from './options.js';
import { type OutputEvent, OutputFeeds } from './outputs/output-feeds.js';
import { SessionRecorder } from './recording/recorder.js';
import { RoomRecorder } from './recording/room-recorder.js';
import { mountRoutes } from './routes.js';
import { noteMount } from './server.js';
import { Rooms, type StreamRooms } from './rooms/rooms.js';
import type { AudioHandler, VideoFunction } from './session/handler.js';
import { IdleWatch } from './session/idle-watch.js';
import { PacingClock } from './session/pacing-clock.js';
import { type CallControl, Session } from './session/session.js';
import type { TransportKind } from './session/types.js';
import type { SessionOpening, TransportRuntime } from './transports/runtime.js';
import { PhoneCalls } from './transports/telephone/phone-calls.js';
import { WebRtcPeers } from './transports/webrtc/offer-route.js';
import type { TwilioClient } from './twilio/client.js';
import type { OutboundCall, OutboundCallOptions } from './twilio/outbound-call.js';
import { builtInPage } from './ui/page.js';
import type { VideoCodec } from './video/codec.js';
import { FfmpegVideoCodec } from './video/ffmpeg-codec.js';
import { videoFunctionHandler } from './session/video-function.js';

/** What `GET {path}/status` answers. */
export interface StreamStatus {
  /** This instance's live sessions, by transport. */
  active: Record<TransportKind, number>;
  /** This instance's live sessions. */
  total: number;
  /**
   * Places held under the limit deployment-wide (live sessions plus phone calls announced but not yet
   * connected); null while the coordination store does not answer (unknown).
   */
  reserved: number | null;
  /** The same places by transport; null while the coordination store does not answer. */
  reservedByTransport: Record<TransportKind, number> | null;
  limit: number | null;
  /** Seconds, or null. */
  timeLimit: number | null;
  /** False while this instance drains (or its coordination store is unreachable). */
  accepting: boolean;
  /** This instance. */
  instanceId: string;
  /** `memory` (one process) or `redis` (a cluster), and whether its store answers. */
  coordination: { kind: 'memory' | 'redis'; healthy: boolean };
}

export interface StreamEvents {
  /** A session was opened on this instance (any transport); it carries its id and secret. */
  session: [session: Session];
}

/**
 * One handler served on every transport: phone calls (Twilio Media Streams), browsers (WebRTC) and
 * programs (WebSocket). Mount it on a Koa app with `stream.mount(app, path)`. With the `cluster`
 * option, several instances behind one load balancer serve it as one (state shared through Redis).
 */
export class Stream extends EventEmitter<StreamEvents> implements TransportRuntime {
  readonly handler: AudioHandler;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  /** @internal Where clients' misbehaviour is logged (rate-limited warnings). */
  readonly clientFaults: ClientFaults;
  /** What this instance shares with the others (in memory when there is no cluster). */
  readonly coordination: Coordination;
  /** @internal The deployment's sessions as this instance reaches them. */
  readonly directory: SessionDirectory;
  /** The VP8 codec of video and audio-video streams (ffmpeg unless given). */
  readonly videoCodec: VideoCodec | undefined;
  /** Prometheus metrics, served at `GET {path}/metrics`. */
  readonly metrics = new StreamMetrics();
  /** @internal */
  readonly webrtc: WebRtcPeers;
  /** @internal */
  readonly outputs: OutputFeeds;
  /**
   * The server-sent event streams of this instance (`/outputs`, and feeds of pages added with
   * `addPage()`, which find it with `eventStreamsOf(ctx)`): bounded per client and in all, ended at shutdown.
   */
  readonly eventStreams: EventStreams;
  /** @internal */
  readonly calls: PhoneCalls;
  private readonly pacing: PacingClock;
  /** Every live session's inactivity deadline, on one timer. */
  private readonly idle: IdleWatch;
  /** Rooms: sessions of any transport that hear each other (`ctx.join()`); list, look at and close them here. */
  readonly rooms: StreamRooms;
  private readonly roomRegistry: Rooms;
  private shuttingDown = false;
  private page: Middleware | undefined;
  private readonly extraPages = new Map<string, Middleware>();
  private mountPrefix = '';
  private mountedAt: string | undefined;
  private started: Promise<void> | undefined;

  constructor(handler: AudioHandler | VideoFunction, options: StreamOptions = {}) {
    super();
    if (handler === null || (typeof handler !== 'object' && typeof handler !== 'function')) {
      throw new CallstreamError('CONFIG_ERROR', 'new Stream(handler): the handler must be a StreamHandler object or a function.');
    }
    this.options = resolveOptions(options);
    const { modality } = this.options;
    this.handler = modality === 'video' && typeof handler === 'function' ? videoFunctionHandler(handler as VideoFunction) : (handler as AudioHandler);
    if (modality !== 'audio') {
      const h = this.handler;
      if (typeof h === 'function' || (!h.videoReceive && !h.videoEmit)) {
        throw new CallstreamError(
          'CONFIG_ERROR',
          modality === 'video'
            ? 'A video Stream needs a frame function (frame, inputs) => frame, or a handler with videoReceive/videoEmit.'
            : 'An audio-video Stream needs a handler object with audio methods (receive/emit) and videoReceive/videoEmit.',
        );
      }
      // One clear error here when ffmpeg is missing; audio Streams never need it.
      this.videoCodec = options.videoCodec ?? new FfmpegVideoCodec();
    }
    this.logger = options.logger ?? createLogger();
    this.clock = options.clock ?? systemClock;
    this.pacing = new PacingClock(this.clock);
    this.idle = new IdleWatch(this.clock, IdleWatch.tickFor([idleDeadline(this.options, 'websocket') ?? 0, idleDeadline(this.options, 'webrtc') ?? 0]));
    this.clientFaults = new ClientFaults(this.clock);
    this.coordination = createCoordination(this.options.cluster, this.logger, this.clock);
    this.directory = new SessionDirectory(this.coordination, this.logger);
    this.calls = new PhoneCalls(this);
    this.webrtc = new WebRtcPeers(this);
    this.outputs = new OutputFeeds(this.options.additionalOutputsHandler, this.coordination);
    this.eventStreams = new EventStreams(this.options.eventStreams, this.clock, (fields, message) => this.clientFaults.warn(this.logger, fields, message));
    this.outputs.serve(this.directory);
    this.directory.handle('setInputs', setInputsOp(this.options.additionalInputs));
    this.directory.handle('end', (session, message) => {
      session.end('ended_by_server', typeof message.message === 'string' ? message.message : 'Ended by the server.');
      return null;
    });
    this.directory.handle('hangUp', async (session) => {
      await session.hangUp();
      return null;
    });
    this.rooms = this.roomRegistry = new Rooms(this, options.rooms, clientKey);
    const record = this.options.record;
    if (record) {
      this.roomRegistry.onRoom = (room) => {
        const recorder = new RoomRecorder(room, record);
        room.recording = { file: recorder.file, finished: recorder.finished.catch((error: unknown) => room.log.error({ err: error }, 'room recording could not be finished')) };
      };
    }
  }

  /**
   * Connects to the coordination store (Redis in cluster mode; nothing to do otherwise). Await it
   * before listening: it rejects with COORDINATION_UNAVAILABLE when the store cannot be reached.
   */
  ready(): Promise<void> {
    this.started ??= this.coordination.start();
    return this.started;
  }

  /** False once shutdown has begun: new sessions are refused. */
  get accepting(): boolean {
    return !this.shuttingDown;
  }

  /**
   * This instance's live sessions, the deployment's places, the limits. While the coordination store
   * does not answer, what this instance knows is given and the deployment's places are null.
   */
  async status(): Promise<StreamStatus> {
    const active: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const session of this.directory.sessions()) active[session.transport]++;
    const limit = this.options.concurrencyLimit;
    const timeLimit = this.options.timeLimitMs;
    const places = await this.deploymentPlaces();
    return {
      active,
      total: this.directory.size,
      reserved: places?.total ?? null,
      reservedByTransport: places?.byTransport ?? null,
      limit: limit === Infinity ? null : limit,
      timeLimit: timeLimit === undefined ? null : timeLimit / 1000,
      accepting: this.accepting && this.coordination.healthy,
      instanceId: this.coordination.instanceId,
      coordination: { kind: this.coordination.kind, healthy: this.coordination.healthy },
    };
  }

  /** The places held deployment-wide, or undefined while the coordination store does not answer. */
  private async deploymentPlaces(): Promise<PlaceCounts | undefined> {
    if (!this.coordination.healthy) return undefined;
    try {
      return await this.coordination.counts();
    } catch (error) {
      if (isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) return undefined;
      throw error;
    }
  }

  /**
   * Sets a session's additional inputs from server code (FastRTC's set_input), wherever the session
   * lives. Values are checked against `additionalInputs`; a wrong one rejects with the reasons, an
   * unknown id with NOT_FOUND. Resolves with the session's inputs.
   */
  async setInput(id: string, values: Record<string, unknown>): Promise<InputValues> {
    const answer = await setInputs(this.directory, id, values);
    if ('reasons' in answer) throw new CallstreamError('BAD_REQUEST', `Invalid inputs: ${answer.reasons.join(' ')}`);
    return answer.inputs;
  }

  /** The latest additional output of a session (FastRTC's fetch_latest_output), wherever it lives. */
  async latestOutput(id: string): Promise<OutputEvent | undefined> {
    const answer = (await this.directory.send(id, { type: 'outputs.latest' })) as OutputEvent | null;
    return answer ?? undefined;
  }

  /** Ends a session by id, wherever it lives (its handler sees `ended_by_server`). */
  async endSession(id: string, message = 'Ended by the server.'): Promise<void> {
    await this.directory.send(id, { type: 'end', message });
  }

  /**
   * The page served at `GET {path}/`: the built-in one unless replaced with your own middleware
   * (`stream.ui = ctx => { ... }`), even after mount.
   */
  get ui(): Middleware {
    this.page ??= builtInPage(this.options, this.mountPrefix);
    return this.page;
  }

  set ui(page: Middleware) {
    this.page = page;
  }

  /**
   * Serves `page` at `{path}/{name}` and everything below it (`{path}/{name}/...`), any method,
   * behind the access token and `authorize` (its POSTs behind the Origin check too) and with the
   * built-in page's security headers (its Content-Security-Policy forbids inline script). A
   * handler's own page, such as the desk demo's. Add pages before `mount()`.
   */
  addPage(name: string, page: Middleware): void {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name) || RESERVED_PAGES.has(name)) {
      throw new CallstreamError('CONFIG_ERROR', `addPage(): "${name}" is not a free page name (lower-case letters, digits and "-"; not ${[...RESERVED_PAGES].join(', ')}).`);
    }
    if (this.mountedAt !== undefined) throw new CallstreamError('CONFIG_ERROR', 'addPage() comes before mount().');
    this.extraPages.set(name, page);
  }

  /** @internal Pages added with addPage(), for the routes. */
  get pages(): ReadonlyMap<string, Middleware> {
    return this.extraPages;
  }

  /**
   * Sets the public origin used for TwiML stream URLs and signature checks (`publicUrl`), e.g. a
   * tunnel's URL once it is open. Undefined goes back to each request's own host.
   */
  setPublicUrl(url: string | undefined): void {
    try {
      this.options.publicUrl = normalizePublicUrl(url);
    } catch (error) {
      throw new CallstreamError('CONFIG_ERROR', (error as Error).message, { cause: error });
    }
  }

  /** Sets the Twilio auth token that webhook and media-stream signatures are checked with (`twilioAuthToken`). */
  setTwilioAuthToken(token: string): void {
    this.options.twilioAuthToken = token;
  }

  /**
   * Places a phone call whose answer reaches this Stream's handler, like an incoming call: Twilio
   * fetches the signed webhook `{publicUrl}{path}/telephone/incoming` (a one-time token is issued
   * with the TwiML) and reports the call's progress to `{publicUrl}{path}/telephone/status`. Needs
   * the `twilio` option (or `TWILIO_*`), a public URL (`publicUrl`, `PUBLIC_URL`, or fastphone's
   * tunnel) and `mount()`. Resolves once Twilio has accepted the call, with a handle: `sid`, `status`
   * events, `answered`, `session` (on whichever instance the media lands), `ended`, `hangUp()`.
   */
  call(options: OutboundCallOptions): Promise<OutboundCall> {
    return this.calls.place(options, this.mountedAt);
  }

  /** Sets the Twilio REST client (call control, outbound calls, Twilio-side recording), e.g. fastphone's. */
  setTwilioClient(client: TwilioClient | undefined): void {
    this.options.twilioClient = client;
  }

  /** @internal REST control of a phone call, when the Stream has a Twilio client. */
  callControl(callSid: string | undefined): CallControl | undefined {
    return this.calls.control(callSid);
  }

  /** A live session of this instance, by id. */
  getSession(id: string): Session | undefined {
    return this.directory.get(id);
  }

  /** Adds the Stream's routes to a Koa app under `path` (e.g. `/voice`; default: the root). */
  mount(app: Koa, path = ''): Router {
    const prefix = normalizePath(path);
    this.mountPrefix = prefix;
    this.mountedAt = prefix;
    noteMount(app, this.logger, prefix);
    return mountRoutes(app, this, prefix);
  }

  /** @internal Lets a session in: its id claimed deployment-wide and a place under the limit. */
  admit(request: AdmissionRequest): Promise<Admission> {
    return admitSession(
      {
        coordination: this.coordination,
        directory: this.directory,
        limit: this.options.concurrencyLimit,
        accepting: () => this.accepting,
        logger: this.logger,
        refused: (transport, reason) => this.metrics.sessionRefused(transport, reason),
      },
      request,
    );
  }

  /** @internal Opens a session (not started) for a transport; its id and place come from `admit`. */
  openSession(opening: SessionOpening): Session {
    const { options } = this;
    const idleTimeout = idleDeadline(options, opening.link.kind);
    const session = new Session({
      id: opening.id,
      link: opening.link,
      handler: this.handler,
      facts: opening.facts,
      mode: options.mode,
      clock: this.clock,
      logger: this.logger,
      place: opening.place,
      connectTimeoutMs: connectDeadline(options, opening.link.kind),
      idle: idleTimeout === undefined ? undefined : { watch: this.idle, timeoutMs: idleTimeout },
      timeLimitMs: options.timeLimitMs,
      leadMs: opening.leadMs,
      // Far ends that hold a long lead are paced on one shared clock (timers batched per 5 ms slot).
      pacingClock: opening.leadMs >= 100 ? this.pacing : undefined,
      markEveryMs: opening.markEveryMs ?? 200,
      maxQueuedMs: options.maxQueuedMs,
      inboundBacklog: options.inboundBacklog,
      aheadMs: options.aheadMs,
      inputs: defaultInputs(options.additionalInputs),
      observer: this.metrics.observer(opening.link.kind),
      rooms: this.roomRegistry,
    });
    this.directory.add(session, opening.keys);
    this.metrics.sessionOpened(session.transport);
    session.onEnd(() => this.metrics.sessionClosed(session.transport));
    this.outputs.track(session);
    if (options.record) {
      const recorder = new SessionRecorder(session, options.record, this.clock);
      session.recording = { file: recorder.file, finished: recorder.finished };
    }
    if (session.transport === 'telephone') this.calls.attach(session);
    this.emit('session', session);
    return session;
  }

  /**
   * Stops accepting sessions and ends the live ones: each gets `graceMs` to end by itself, then is
   * cut. Resolves when every session has ended and this instance's places are given back.
   */
  async shutdown(graceMs = 0): Promise<void> {
    this.shuttingDown = true;
    const live = this.directory.sessions();
    if (live.length > 0) {
      this.logger.info({ sessions: live.length, graceMs }, 'shutting down: ending live sessions');
      const allEnded = Promise.all(live.map((s) => s.ended));
      if (graceMs > 0) {
        await Promise.race([allEnded, new Promise<void>((resolve) => this.clock.after(graceMs, resolve))]);
      }
      for (const session of live) session.end('server_shutdown', 'The server is shutting down.');
      await allEnded;
    }
    this.roomRegistry.closeAll('shutdown');
    this.eventStreams.closeAll('server shutting down');
    await this.calls.close();
    this.webrtc.closeAll('The server is shutting down.');
    await this.coordination.close();
  }
}

/** The first path segments the Stream's own routes use. */
const RESERVED_PAGES = new Set(['telephone', 'webrtc', 'websocket', 'v1', 'static', 'input_hook', 'outputs', 'status', 'health', 'metrics']);

/** How long a session of each transport may take from opening to connected media. */
function connectDeadline(options: ResolvedOptions, transport: TransportKind): number {
  if (transport === 'webrtc') return options.webrtc.connectTimeoutMs;
  return transport === 'telephone' ? options.telephone.startTimeoutMs : options.websocket.startTimeoutMs;
}

/** How long a session of each transport may go without hearing from its client (ms), or undefined for ever. */
function idleDeadline(options: ResolvedOptions, transport: TransportKind): number | undefined {
  const idle = options.idleTimeoutMs;
  const inactivity = options.webrtc.inactivityTimeoutMs;
  if (transport !== 'webrtc' || !(inactivity > 0)) return idle;
  return idle === undefined ? inactivity : Math.min(idle, inactivity);
}

function normalizePath(path: string): string {
  if (path === '' || path === '/') return '';
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.replace(/\/+$/, '');
}
