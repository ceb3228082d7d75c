import { EventEmitter } from 'node:events';
import Router from '@koa/router';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import { type Clock, systemClock } from './clock.js';
import { CallstreamError } from './errors.js';
import { httpErrors } from './http/errors.js';
import { useWebSockets } from './http/websockets.js';
import { createLogger, type Logger } from './logger.js';
import { type ResolvedOptions, resolveOptions, type StreamOptions } from './options.js';
import type { AudioHandler } from './session/handler.js';
import { SessionRegistry } from './session/registry.js';
import { Session } from './session/session.js';
import type { TransportKind } from './session/types.js';
import { CallTokens } from './transports/telephone/call-tokens.js';
import { incomingCallRoute } from './transports/telephone/incoming.js';
import { mediaStreamRoute } from './transports/telephone/media-route.js';
import type { SessionOpening, TransportRuntime } from './transports/runtime.js';
import { WebRtcPeers } from './transports/webrtc/offer-route.js';
import { rtcConfigurationRoute } from './transports/webrtc/configuration-route.js';
import { builtInPage, pageAssets } from './ui/page.js';

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
  private readonly sessions = new Map<string, Session>();
  private readonly tokens: CallTokens;
  private readonly webrtc: WebRtcPeers;
  private shuttingDown = false;
  private page: Middleware | undefined;
  private mountPrefix = '';

  constructor(handler: AudioHandler, options: StreamOptions = {}) {
    super();
    if (handler === null || (typeof handler !== 'object' && typeof handler !== 'function')) {
      throw new CallstreamError('CONFIG_ERROR', 'new Stream(handler): the handler must be a StreamHandler object or a session function.');
    }
    this.handler = handler;
    this.options = resolveOptions(options);
    if (this.options.modality !== 'audio') {
      throw new CallstreamError('UNSUPPORTED', `modality "${this.options.modality}" is not served yet: this build serves audio.`);
    }
    this.logger = options.logger ?? createLogger();
    this.clock = options.clock ?? systemClock;
    this.registry = new SessionRegistry(this.options.concurrencyLimit, this.clock);
    this.tokens = new CallTokens(this.clock, this.options.telephone.connectTimeoutMs);
    this.webrtc = new WebRtcPeers(this);
  }

  /** False once shutdown has begun: new sessions are refused. */
  get accepting(): boolean {
    return !this.shuttingDown;
  }

  /** Live sessions by transport, and the limit. */
  status(): { active: Record<TransportKind, number>; total: number; limit: number | null } {
    const active: Record<TransportKind, number> = { telephone: 0, webrtc: 0, websocket: 0 };
    for (const session of this.sessions.values()) active[session.transport]++;
    const limit = this.options.concurrencyLimit;
    return { active, total: this.sessions.size, limit: limit === Infinity ? null : limit };
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

  /** A live session by id. */
  getSession(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Adds the Stream's routes to a Koa app under `path` (e.g. `/voice`; default: the root). */
  mount(app: Koa, path = ''): Router {
    const prefix = normalizePath(path);
    this.mountPrefix = prefix;
    useWebSockets(app);
    if (!this.options.twilioAuthToken) {
      this.logger.warn('no Twilio auth token configured (TWILIO_AUTH_TOKEN): webhook and media stream signatures are NOT checked');
    }
    const router = new Router(prefix ? { prefix } : {});
    router.use(httpErrors(this.logger));
    router.get('/', (ctx, next) => this.ui(ctx, next));
    router.get('/static/:file', pageAssets());
    router.all('/telephone/incoming', incomingCallRoute(this, this.tokens, prefix));
    router.get('/telephone/handler', mediaStreamRoute(this, this.tokens));
    router.post('/webrtc/offer', this.webrtc.route());
    router.get('/webrtc/configuration', rtcConfigurationRoute(this.options.rtcConfiguration));
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
      timeLimitMs: options.timeLimitMs,
      leadMs: opening.leadMs,
      markEveryMs: opening.markEveryMs ?? 100,
      maxQueuedMs: options.maxQueuedMs,
      inboundBacklog: options.inboundBacklog,
      aheadMs: options.aheadMs,
    });
    this.sessions.set(session.id, session);
    session.once('stop', () => this.sessions.delete(session.id));
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
    this.webrtc.closeAll('The server is shutting down.');
  }
}

function normalizePath(path: string): string {
  if (path === '' || path === '/') return '';
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return withSlash.replace(/\/+$/, '');
}
