import { EventEmitter } from 'node:events';
import Router from '@koa/router';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import { ClientFaults } from './client-faults.js';
import { type Clock, systemClock } from './clock.js';
import { CallstreamError } from './errors.js';
import { authorizeWith, requireBearerToken } from './http/access.js';
import { corsMiddleware } from './http/cors.js';
import { httpErrors } from './http/errors.js';
import { limitFailures, limitRequests, RateLimiter } from './http/rate-limit.js';
import { inputHookRoute } from './inputs/input-route.js';
import { defaultInputs, type InputValues, validateInputs } from './inputs/spec.js';
import { OutputFeeds } from './outputs/output-feeds.js';
import { SessionRecorder } from './recording/recorder.js';
import { StreamMetrics } from './metrics/stream-metrics.js';
import { outputsRoute } from './outputs/outputs-route.js';
import { useWebSockets } from './http/websockets.js';
import { createLogger, type Logger } from './logger.js';
import { normalizePublicUrl, type ResolvedOptions, resolveOptions, type StreamOptions } from './options.js';
import { type Fastphone, type FastphoneOptions, startFastphone } from '../tunnels/fastphone.js';
import type { AudioHandler, VideoFunction } from './session/handler.js';
import type { VideoCodec } from './video/codec.js';
import { FfmpegVideoCodec } from './video/ffmpeg-codec.js';
import { videoFunctionHandler } from './video/video-handler.js';
import { SessionRegistry } from './session/registry.js';
import { type CallControl, Session } from './session/session.js';
import type { TwilioClient } from './twilio/client.js';
import type { OutboundCall, OutboundCallOptions } from './twilio/outbound-call.js';
import type { TransportKind } from './session/types.js';
import { CallTokens } from './transports/telephone/call-tokens.js';
import { incomingCallRoute } from './transports/telephone/incoming.js';
import { PhoneCalls } from './transports/telephone/phone-calls.js';
import { statusCallbackRoute } from './transports/telephone/status-route.js';
import { mediaStreamRoute } from './transports/telephone/media-route.js';
import type { SessionOpening, TransportRuntime } from './transports/runtime.js';
import { WebRtcPeers } from './transports/webrtc/offer-route.js';
import { webSocketRoute } from './transports/websocket/route.js';
import { rtcConfigurationRoute } from './transports/webrtc/configuration-route.js';
import { builtInPage, pageAssets } from './ui/page.js';

/** What `GET {path}/status` answers. */
export interface StreamStatus {
  /** Live sessions by transport. */
  active: Record<TransportKind, number>;
  total: number;
  /** Places held under the limit (live sessions plus phone calls announced but not yet connected). */
  reserved: number;
  limit: number | null;
  /** Seconds, or null. */
  timeLimit: number | null;
  accepting: boolean;
}

export interface StreamEvents {
  /** A session was opened (any transport); it carries its id and secret. */
  session: [session: Session];
}

/**
 * One handler served on every transport: phone calls (Twilio Media Streams), browsers (WebRTC) and
 * programs (WebSocket). Mount it on a Koa app with `stream.mount(app, path)`.
 */
export class Stream extends EventEmitter<StreamEvents> implements TransportRuntime {
  readonly handler: AudioHandler;
  readonly options: ResolvedOptions;
  readonly registry: SessionRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** @internal Where clients' misbehaviour is logged (rate-limited warnings). */
  readonly clientFaults: ClientFaults;
  /** The VP8 codec of video and audio-video streams (ffmpeg unless given). */
  readonly videoCodec: VideoCodec | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly tokens: CallTokens;
  private readonly webrtc: WebRtcPeers;
  private readonly outputs: OutputFeeds;
  /** Prometheus metrics, served at `GET {path}/metrics`. */
  readonly metrics = new StreamMetrics();
  private shuttingDown = false;
  private page: Middleware | undefined;
  private mountPrefix = '';
  private mountedAt: string | undefined;
  private readonly calls: PhoneCalls;

  constructor(handler: AudioHandler | VideoFunction, options: StreamOptions = {}) {
    super();
    if (handler === null || (typeof handler !== 'object' && typeof handler !== 'function')) {
      throw new CallstreamError('CONFIG_ERROR', 'new Stream(handler): the handler must be a StreamHandler object or a function.');
    }
    this.options = resolveOptions(options);
    const { modality } = this.options;
    if (modality === 'video' && typeof handler === 'function') {
      this.handler = videoFunctionHandler(handler as VideoFunction);
    } else {
      this.handler = handler as AudioHandler;
    }
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
    this.clientFaults = new ClientFaults(this.clock);
    this.registry = new SessionRegistry(this.options.concurrencyLimit);
    this.tokens = new CallTokens(this.clock, this.options.telephone.connectTimeoutMs);
    this.calls = new PhoneCalls(this);
    this.webrtc = new WebRtcPeers(this);
    this.outputs = new OutputFeeds(this.options.additionalOutputsHandler);
  }

  /** False once shutdown has begun: new sessions are refused. */
  get accepting(): boolean {
    return !this.shuttingDown;
  }

  /** Live sessions by transport, places held under the limit, and the limits. */
  status(): StreamStatus {
    const active: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const session of this.sessions.values()) active[session.transport]++;
    const limit = this.options.concurrencyLimit;
    const timeLimit = this.options.timeLimitMs;
    return {
      active,
      total: this.sessions.size,
      reserved: this.registry.size,
      limit: limit === Infinity ? null : limit,
      timeLimit: timeLimit === undefined ? null : timeLimit / 1000,
      accepting: this.accepting,
    };
  }

  /**
   * Sets a session's additional inputs from server code (FastRTC's set_input). Values are checked
   * against `additionalInputs`; a wrong one throws with the reasons.
   */
  setInput(id: string, values: Record<string, unknown>): InputValues {
    const session = this.sessions.get(id);
    if (!session) throw new CallstreamError('NOT_FOUND', `No live session with id "${id}".`);
    const check = validateInputs(this.options.additionalInputs, values);
    if (!check.ok) throw new CallstreamError('BAD_REQUEST', `Invalid inputs: ${check.errors.join(' ')}`);
    session.setInputs(check.values);
    return session.inputs;
  }

  /** The latest additional output of a session (FastRTC's fetch_latest_output), if any. */
  latestOutput(id: string) {
    return this.outputs.latest(id);
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
   * Serves this Stream on one of your Twilio numbers through a public tunnel (FastRTC's fastphone,
   * with your own account): starts a server, opens the tunnel (localtunnel by default), points the
   * number at it and restores the number on stop, SIGINT/SIGTERM, or when the tunnel dies.
   */
  fastphone(options: FastphoneOptions = {}): Promise<Fastphone> {
    return startFastphone(this, options);
  }

  /**
   * Places a phone call whose answer reaches this Stream's handler, like an incoming call: Twilio
   * fetches the signed webhook `{publicUrl}{path}/telephone/incoming` (a one-time token is issued
   * with the TwiML) and reports the call's progress to `{publicUrl}{path}/telephone/status`. Needs
   * the `twilio` option (or `TWILIO_*`), a public URL (`publicUrl`, `PUBLIC_URL`, or fastphone's
   * tunnel) and `mount()`. Resolves once Twilio has accepted the call, with a handle: `sid`, `status`
   * events, `answered`, `session`, `ended`, `hangUp()`.
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

  /** @internal True while a phone session for `callSid` is live. */
  hasLiveCall(callSid: string): boolean {
    return this.calls.hasLive(callSid);
  }

  /** A live session by id. */
  getSession(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Adds the Stream's routes to a Koa app under `path` (e.g. `/voice`; default: the root). */
  mount(app: Koa, path = ''): Router {
    const prefix = normalizePath(path);
    this.mountPrefix = prefix;
    this.mountedAt = prefix;
    useWebSockets(app, this.logger);
    if (!this.options.twilioAuthToken) {
      this.logger.warn('no Twilio auth token configured (TWILIO_AUTH_TOKEN): webhook and media stream signatures are NOT checked');
    }
    const router = new Router(prefix ? { prefix } : {});
    const guard = authorizeWith(this.options.authorize);
    const find = (id: string) => this.sessions.get(id);
    const limit = this.options.maxBodyBytes;
    const { offers, signatureFailures } = this.options.rateLimit;
    const forgeries = limitFailures(signatureFailures && new RateLimiter(signatureFailures, this.clock), 403);
    const offerLimit = limitRequests(offers && new RateLimiter(offers, this.clock), (ctx) => (ctx.body as { status?: unknown })?.status !== 'success');
    const cors = corsMiddleware(this.options.cors);
    const browser = cors ? [cors.headers, guard] : [guard];
    router.use(httpErrors(this.logger));
    // Twilio's routes are guarded by signatures; everything else by the authorize hook (/metrics by metricsToken when set).
    router.all('/telephone/incoming', forgeries, incomingCallRoute(this, this.tokens, prefix));
    router.get('/telephone/handler', forgeries, mediaStreamRoute(this, this.tokens));
    router.post('/telephone/status', forgeries, statusCallbackRoute(this, this.calls));
    router.get('/', guard, (ctx, next) => this.ui(ctx, next));
    router.get('/static/:file', guard, pageAssets(this.options));
    router.post('/webrtc/offer', ...browser, offerLimit, this.webrtc.route());
    router.get('/webrtc/configuration', ...browser, rtcConfigurationRoute(this.options.rtcConfiguration));
    router.get('/websocket/offer', guard, webSocketRoute(this));
    router.post('/input_hook', ...browser, inputHookRoute(this.options.additionalInputs, find, limit));
    router.get('/outputs', ...browser, outputsRoute(this.outputs, find));
    if (cors) router.options(['/webrtc/offer', '/webrtc/configuration', '/input_hook', '/outputs', '/status'], cors.preflight);
    router.get('/status', ...browser, (ctx) => {
      ctx.body = this.status();
    });
    const metricsGuard = this.options.metricsToken ? requireBearerToken(this.options.metricsToken) : guard;
    router.get('/metrics', metricsGuard, async (ctx) => {
      const { contentType, body } = await this.metrics.render();
      ctx.type = contentType;
      ctx.body = body;
    });
    app.use(router.routes());
    app.use(router.allowedMethods());
    return router;
  }

  /** @internal Opens a session for a transport. */
  openSession(opening: SessionOpening): Session {
    const { options } = this;
    const session = new Session({
      id: opening.id,
      link: opening.link,
      handler: this.handler,
      facts: opening.facts,
      mode: options.mode,
      clock: this.clock,
      logger: this.logger,
      slot: opening.slot,
      connectTimeoutMs: connectDeadline(options, opening.link.kind),
      timeLimitMs: options.timeLimitMs,
      leadMs: opening.leadMs,
      markEveryMs: opening.markEveryMs ?? 200,
      maxQueuedMs: options.maxQueuedMs,
      inboundBacklog: options.inboundBacklog,
      aheadMs: options.aheadMs,
      inputs: defaultInputs(options.additionalInputs),
      observer: this.metrics.observer(opening.link.kind),
    });
    this.sessions.set(session.id, session);
    this.metrics.sessionOpened(session.transport);
    session.once('stop', () => this.metrics.sessionClosed(session.transport));
    this.outputs.track(session);
    if (options.record) {
      const recorder = new SessionRecorder(session, options.record, this.clock);
      session.recording = { file: recorder.file, finished: recorder.finished };
    }
    session.once('stop', () => this.sessions.delete(session.id));
    if (session.transport === 'telephone') this.calls.attach(session);
    this.emit('session', session);
    return session;
  }

  /**
   * Stops accepting sessions and ends the live ones: each gets `graceMs` to end by itself, then is
   * cut. Resolves when every session has ended.
   */
  async shutdown(graceMs = 0): Promise<void> {
    this.shuttingDown = true;
    this.tokens.clear();
    const live = [...this.sessions.values()];
    if (live.length > 0) {
      this.logger.info({ sessions: live.length, graceMs }, 'shutting down: ending live sessions');
      const allEnded = Promise.all(live.map((s) => s.ended));
      if (graceMs > 0) {
        await Promise.race([allEnded, new Promise<void>((resolve) => this.clock.after(graceMs, resolve))]);
      }
      for (const session of live) session.end('server_shutdown', 'The server is shutting down.');
      await allEnded;
    }
    await this.calls.close();
    this.webrtc.closeAll('The server is shutting down.');
  }
}

/** How long a session of each transport may take from opening to connected media. */
function connectDeadline(options: ResolvedOptions, transport: TransportKind): number {
  if (transport === 'webrtc') return options.webrtc.connectTimeoutMs;
  return transport === 'telephone' ? options.telephone.startTimeoutMs : options.websocket.startTimeoutMs;
}

function normalizePath(path: string): string {
  if (path === '' || path === '/') return '';
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.replace(/\/+$/, '');
}
