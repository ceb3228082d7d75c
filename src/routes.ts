import Router from '@koa/router';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import type { StreamMetrics } from './metrics/stream-metrics.js';
import type { OutputFeeds } from './outputs/output-feeds.js';
import type { TransportRuntime } from './transports/runtime.js';
import type { PhoneCalls } from './transports/telephone/phone-calls.js';
import type { WebRtcPeers } from './transports/webrtc/offer-route.js';
import { authorizeWith, requireBearerToken } from './http/access.js';
import { accessGuard } from './http/access-token.js';
import { corsMiddleware } from './http/cors.js';
import { httpErrors } from './http/errors.js';
import { checkOrigin } from './http/origins.js';
import { limitFailures, limitRequests } from './http/rate-limit.js';
import { refuseWhileUnavailable } from './http/unavailable.js';
import { type EventStreams, provideEventStreams } from './http/sse.js';
import { useWebSockets, webSocketOnly } from './http/websockets.js';
import { inputHookRoute } from './inputs/input-route.js';
import { outputsRoute } from './outputs/outputs-route.js';
import { incomingCallRoute } from './transports/telephone/incoming.js';
import { mediaStreamRoute } from './transports/telephone/media-route.js';
import { statusCallbackRoute } from './transports/telephone/status-route.js';
import { twilioSignature } from './transports/telephone/twilio-signature.js';
import { realtimeRoute } from './transports/realtime/route.js';
import { rtcConfigurationRoute } from './transports/webrtc/configuration-route.js';
import { webSocketRoute } from './transports/websocket/route.js';
import { pageAssets } from './ui/page.js';
import { pageSecurityHeaders } from './ui/security-headers.js';

/** What the routes use of their Stream (the Stream itself; kept narrow so the routes do not import it). */
export interface MountedStream extends TransportRuntime {
  readonly metrics: StreamMetrics;
  readonly calls: PhoneCalls;
  readonly webrtc: WebRtcPeers;
  readonly outputs: OutputFeeds;
  readonly eventStreams: EventStreams;
  /** The page served at the root. */
  readonly ui: Middleware;
  /** Further pages (`addPage()`), by name. */
  readonly pages: ReadonlyMap<string, Middleware>;
  /** What `GET {path}/status` answers. */
  status(): Promise<unknown>;
}

/**
 * The routes of a Stream under `prefix`: Twilio's (guarded by signatures), the browser's and
 * programs' (guarded by the access token and `authorize`; state-changing ones by their Origin too),
 * status, health and metrics.
 */
export function mountRoutes(app: Koa, stream: MountedStream, prefix: string): Router {
  const { options, logger, coordination } = stream;
  useWebSockets(app, logger);
  if (!options.twilioAuthToken) {
    logger.warn('no Twilio auth token configured (TWILIO_AUTH_TOKEN): webhook and media stream signatures are NOT checked');
  }
  const router = new Router(prefix ? { prefix } : {});
  const guard = accessGuard(options.accessToken, authorizeWith(options.authorize), prefix);
  // Read at each request: the public URL may be set after mount (a tunnel's).
  const originGuard = checkOrigin(options);
  const { offers, candidates, signatureFailures } = options.rateLimit;
  // Per-IP budgets shared by every instance, so N instances do not multiply the allowance.
  const forgeries = limitFailures(signatureFailures && coordination.rateBucket('signature-failures', signatureFailures), 403, logger);
  const offerLimit = limitRequests(offers && coordination.rateBucket('offers', offers), logger, (ctx) => (ctx.body as { status?: unknown })?.status !== 'success');
  const candidateLimit = limitRequests(candidates && coordination.rateBucket('candidates', candidates), logger);
  const cors = corsMiddleware(options.cors);
  const browser = cors ? [cors.headers, guard] : [guard];
  router.use(httpErrors(logger));
  // What opens a session is refused at once (503) while the coordination store is known to be away.
  for (const [path, transport] of [['/webrtc/offer', 'webrtc'], ['/websocket/offer', 'websocket'], ['/v1/realtime', 'websocket']] as const) {
    router.use(path, refuseWhileUnavailable(() => coordination.healthy, () => stream.metrics.sessionRefused(transport, 'unavailable')));
  }
  // Twilio's routes are guarded by signatures; everything else by the access token and the authorize hook (/metrics by metricsToken when set).
  const signed = twilioSignature(stream);
  router.all('/telephone/incoming', forgeries, signed, incomingCallRoute(stream, prefix));
  router.get('/telephone/handler', webSocketOnly('This is the Twilio Media Streams endpoint'), forgeries, signed, mediaStreamRoute(stream));
  router.post('/telephone/status', forgeries, signed, statusCallbackRoute(stream, stream.calls));
  router.get('/', guard, (ctx, next) => stream.ui(ctx, next));
  router.get('/static/:file', guard, pageAssets(options));
  const pageHeaders = pageSecurityHeaders(options.uiArgs.frameAncestors);
  for (const [name, page] of stream.pages) {
    const serve: Middleware = async (ctx, next) => {
      ctx.set(pageHeaders);
      provideEventStreams(ctx, stream.eventStreams);
      await page(ctx, next);
    };
    router.all([`/${name}`, `/${name}/*rest`], guard, originGuard, serve);
  }
  router.post('/webrtc/offer', ...browser, originGuard, stream.webrtc.route({ offers: offerLimit, candidates: candidateLimit }));
  router.get('/webrtc/configuration', ...browser, rtcConfigurationRoute(options.rtcConfiguration));
  router.get('/websocket/offer', guard, originGuard, webSocketOnly('This is the audio WebSocket endpoint'), webSocketRoute(stream));
  router.get('/v1/realtime', guard, originGuard, webSocketOnly('This is the OpenAI Realtime-compatible endpoint'), realtimeRoute(stream));
  router.post('/input_hook', ...browser, originGuard, inputHookRoute(options.additionalInputs, stream.directory, options.maxBodyBytes));
  router.get('/outputs', ...browser, outputsRoute(stream.directory, stream.outputs, coordination, stream.eventStreams));
  if (cors) router.options(['/webrtc/offer', '/webrtc/configuration', '/input_hook', '/outputs', '/status'], cors.preflight);
  router.get('/status', ...browser, async (ctx) => {
    ctx.body = await stream.status();
  });
  // For load balancers: 503 while this instance drains, so it leaves the rotation. A coordination
  // store out of reach is said but not failed: every instance shares it, and a balancer with no
  // healthy instance could not even answer "busy".
  router.get('/health', (ctx) => {
    ctx.status = stream.accepting ? 200 : 503;
    ctx.body = { status: stream.accepting ? 'ok' : 'draining', instanceId: coordination.instanceId, coordination: coordination.healthy ? 'ok' : 'unavailable' };
  });
  const metricsGuard = options.metricsToken ? requireBearerToken(options.metricsToken) : guard;
  router.get('/metrics', metricsGuard, async (ctx) => {
    const { contentType, body } = await stream.metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return router;
}
