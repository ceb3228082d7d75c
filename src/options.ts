import type { Context } from 'koa';
import type { Clock } from './clock.js';
import { checkAccessToken } from './http/access-token.js';
import { checkCorsOptions, type CorsOptions } from './http/cors.js';
import { checkAllowedOrigins } from './http/origins.js';
import type { RateLimitRule } from './http/rate-limit.js';
import type { EventStreamLimits } from './http/sse.js';
import { checkInputSpecs, type InputSpec } from './inputs/spec.js';
import type { RecordOptions } from './recording/recorder.js';
import type { RoomsOptions } from './rooms/rooms.js';
import type { TwilioRecordingOptions } from './twilio/call-recording.js';
import { isTwilioClient, resolveTwilioClient, type TwilioClient, type TwilioOption } from './twilio/client.js';
import { checkFrameAncestors } from './ui/security-headers.js';
import type { VideoCodec } from './video/codec.js';
import type { Redis } from 'ioredis';
import type { Coordination } from './coordination/coordination.js';
import type { Logger } from './logger.js';
import type { StreamMode } from './session/session.js';
import type { IncomingCall } from './session/types.js';

export type { StreamMode };

/** What the Stream serves: audio (the default here), video, or both. */
export type Modality = 'audio' | 'video' | 'audio-video';

export type { IncomingCall };

/** ICE server configuration, as in the browser's RTCConfiguration. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface RtcConfiguration {
  iceServers?: IceServer[];
  iceTransportPolicy?: 'all' | 'relay';
}

/** Options of the phone path. */
export interface TelephoneOptions {
  /** Audio kept queued at Twilio ahead of real time (ms). Default 160. */
  leadMs?: number;
  /** A mark is sent at least every this much audio (ms) and at the end of each utterance. Default 200. */
  markEveryMs?: number;
  /** A media socket that sends no `start` within this time is closed (ms). Default 5000. */
  startTimeoutMs?: number;
  /** A place reserved at the webhook is freed if the media stream does not connect in time (ms). Default 30000. */
  connectTimeoutMs?: number;
  /** Said before the stream connects (optional `<Say>`). */
  greeting?: string;
  /** Said after the stream ends (optional `<Say>`). */
  goodbye?: string;
  /**
   * Records phone calls on Twilio's side too (REST `recordings.create` once media flows; needs the
   * `twilio` option): `true` for dual-channel, or the recording's options. Default off.
   */
  twilioRecording?: boolean | TwilioRecordingOptions;
}

/** What the built-in page shows (FastRTC's ui_args, TypeScript names). */
export interface UiArgs {
  title?: string;
  subtitle?: string;
  /** Label of the start button. */
  startLabel?: string;
  stopLabel?: string;
  /** Label of the level meter of what the server sends (default "Reply"; the conference demo's: "Room"). */
  replyLabel?: string;
  /** Accent colour (CSS). */
  accentColor?: string;
  /** Show the DTMF keypad (default true). */
  keypad?: boolean;
  /** Origins allowed to show the page in a frame (CSP frame-ancestors), e.g. `["https://app.example.com"]`. Default: none. */
  frameAncestors?: string[];
}

/** How the page shows one output value. */
export interface OutputSpec {
  label: string;
  /** `text` (default): shown as text; `json`: pretty-printed; `transcript`: a list of lines. */
  type?: 'text' | 'json' | 'transcript';
}

/** Options of the WebSocket path (`/websocket/offer`). */
export interface WebSocketOptions {
  /** Audio sent ahead of real time to the client (ms). Default 100. */
  leadMs?: number;
  /** A socket that sends no `start` within this time is closed (ms). Default 5000. */
  startTimeoutMs?: number;
}

/** Options of the browser (WebRTC) path. */
export interface WebRtcOptions {
  /** Codec offered to browsers: `opus` (default; PCMU offered as fallback) or `pcmu` only. */
  codec?: 'opus' | 'pcmu';
  /** A peer that is not connected within this time is dropped (ms). Default 30000. */
  connectTimeoutMs?: number;
  /** A disconnected peer that does not come back within this time ends its session (ms). Default 5000. */
  disconnectGraceMs?: number;
  /**
   * A peer that sends nothing at all for this long (no RTP, RTCP, STUN consent check or data-channel
   * message: a killed tab) ends with `idle_timeout`; the shorter of this and `idleTimeoutMs` applies
   * (ms; 0 = only `idleTimeoutMs`). A muted or listen-only browser keeps sending RTCP and consent checks. Default 10000.
   */
  inactivityTimeoutMs?: number;
  /** Packets held after a gap waiting for the late one before it is concealed. Default 3 (60 ms). */
  reorderWindow?: number;
  /** Extra host candidates (e.g. `127.0.0.1` on a loopback-only host). */
  iceAdditionalHostAddresses?: string[];
  /** UDP ports for ICE, e.g. [40000, 40100] behind a firewall. */
  icePortRange?: [number, number];
  /** Gather IPv6 candidates too. Default false. */
  iceUseIpv6?: boolean;
}

/** Per-IP rate limits (token buckets: `limit` requests, refilled over `windowMs`); `false` turns one off. */
export interface RateLimitOptions {
  /** Offers and refused requests on `POST /webrtc/offer`. Default 20 per minute. */
  offers?: RateLimitRule | false;
  /** Trickled ICE candidates on `POST /webrtc/offer`, accepted or not. Default 200 per minute (a browser trickles a handful per offer). */
  candidates?: RateLimitRule | false;
  /** Requests to the Twilio routes that fail the signature check; valid ones are never limited. Default 10 per minute. */
  signatureFailures?: RateLimitRule | false;
}

/** Values for `<Parameter>` elements, or a function computing them per call. */
export type CustomParameters =
  | Record<string, string>
  | ((call: IncomingCall) => Record<string, string> | Promise<Record<string, string>>);

/**
 * Cluster mode: several instances (processes, dynos, pods) behind one load balancer serve the Stream
 * as one, sharing places, call tokens and a session directory through Redis.
 */
export interface ClusterOptions {
  /** A Redis URL (`redis://`, `rediss://`: Heroku's REDIS_URL) or an ioredis client. */
  redis?: string | Redis;
  /**
   * TLS settings for a `rediss://` URL, e.g. `{ rejectUnauthorized: false }` for Heroku Redis's
   * self-signed certificate. Default: Node's (the certificate is verified).
   */
  tls?: { rejectUnauthorized?: boolean };
  /** This instance's id, unique in the deployment. Default: host, pid and a random part. */
  instanceId?: string;
  /** Prefix of every Redis key and channel. Default `callstream:`; Streams sharing one Redis need their own. */
  prefix?: string;
  /** A ready coordination instead (e.g. MemoryCoordination instances sharing a MemoryHub, in tests). */
  coordination?: Coordination;
}

/** Options of `new Stream(handler, options)`. Every field is optional. */
export interface StreamOptions {
  /** `send-receive` (default), `receive` (the server only sends) or `send` (the server only receives). */
  mode?: StreamMode;
  /** `audio` (default; FastRTC defaults to video), `video` (a frame function) or `audio-video`. */
  modality?: Modality;
  /** Sessions at once across every transport. Default: unlimited (`null` or `Infinity`). */
  concurrencyLimit?: number | null;
  /** Seconds before a session is ended. Default: none. */
  timeLimit?: number | null;
  /**
   * A live session whose client sends nothing at all for this long (ms) ends with `idle_timeout`,
   * on every transport: no media frame, WebSocket ping or message, RTP, RTCP or STUN. Silence that
   * still flows (a muted caller's frames, a listening browser's RTCP) is not idleness; a WebSocket
   * client with nothing to send pings. 0 or Infinity: never. Default 60000.
   */
  idleTimeoutMs?: number;
  /**
   * The origin the outside world uses to reach this server (`https://example.com`). Used for TwiML
   * stream URLs and signature checks. Default: `PUBLIC_URL`, else the request's own host (which
   * honours X-Forwarded-* only when the Koa app has `proxy = true`).
   */
  publicUrl?: string;
  /** Twilio auth token for signature checks. Default: the `twilio` option's, else `TWILIO_AUTH_TOKEN`. Without one, nothing is checked (a warning says so). */
  twilioAuthToken?: string;
  /**
   * Twilio's REST API, for call control (`hangUp`/`transfer` of phone calls), outbound calls
   * (`stream.call()`) and Twilio-side recording: credentials `{ accountSid, authToken | apiKey +
   * apiSecret, region, edge, apiBaseUrl }` (missing fields from `TWILIO_*`), a ready twilio client,
   * or false for none. Default: the `TWILIO_*` environment when it names a complete account.
   */
  twilio?: TwilioOption;
  /** Extra `<Parameter>`s for the media stream; they reach the handler in `ctx.facts.customParameters`. */
  customParameters?: CustomParameters;
  telephone?: TelephoneOptions;
  webrtc?: WebRtcOptions;
  /** Outbound audio queued beyond this is dropped and counted (ms). Default 300000. */
  maxQueuedMs?: number;
  /** Inbound frames held while the handler is busy; older ones are dropped and counted. Default 50 (1 s). */
  inboundBacklog?: number;
  /** How far a generator handler may run ahead of playback (ms). Default 1000. */
  aheadMs?: number;
  /** Largest HTTP body accepted on any route (bytes). Default 64 KiB. */
  maxBodyBytes?: number;
  /** Per-IP rate limits answered 429 with Retry-After; `false` turns them all off. */
  rateLimit?: RateLimitOptions | false;
  /** Bounds of server-sent event streams (`/outputs`, pages' feeds): per client (16), per client and session (4), in all (1000). */
  eventStreams?: EventStreamLimits;
  /**
   * Cross-origin access to the browser-facing JSON routes (offer, configuration, input hook, outputs,
   * status). Default: none (same-origin only; no CORS headers are sent).
   */
  cors?: CorsOptions;
  logger?: Logger;
  clock?: Clock;
  /** Serve as one of several instances sharing state through Redis. Default: one instance, state in memory. */
  cluster?: ClusterOptions;

  // Filled in by later issues (typed now so code can be written against them):
  /** Given to the browser (ICE/TURN servers) by `GET {path}/webrtc/configuration`; may be a function called per request (fresh TURN credentials). */
  rtcConfiguration?: RtcConfiguration | (() => RtcConfiguration | Promise<RtcConfiguration>);
  /** ICE servers of the server's own peer connections. None by default (nothing reaches outside). */
  serverRtcConfiguration?: RtcConfiguration;
  /** getUserMedia audio constraints for the built-in page. */
  trackConstraints?: Record<string, unknown>;
  /** Ignore tracks beyond the modality (answered inactive) instead of refusing the offer with 400. */
  allowExtraTracks?: boolean;
  /** Encoder parameters the built-in page applies to its senders (RTCRtpSender.setParameters). */
  rtpParams?: Record<string, unknown>;
  /** Inputs the handler reads in `ctx.inputs` (text, number, slider, checkbox, select); the page renders them. */
  additionalInputs?: InputSpec[];
  /** Outputs the page shows (a label per value of AdditionalOutputs). */
  additionalOutputs?: OutputSpec[];
  /** Folds a new AdditionalOutputs into the state clients see (FastRTC's additional_outputs_handler). */
  additionalOutputsHandler?: (previous: unknown, ...values: unknown[]) => unknown;
  /**
   * Guards the page, the offer route, the WebSocket, the input hook, the outputs, the status route and
   * /metrics unless `metricsToken` is set (not the Twilio routes, which signatures guard). Return false
   * to refuse with 401.
   */
  authorize?: (ctx: Context) => boolean | Promise<boolean>;
  /**
   * One secret for every route a person or a program uses: the page and its assets, `addPage()`
   * pages, offers and candidates, the configuration, the WebSocket and Realtime transports, the input
   * hook, the outputs, the status and (unless `metricsToken`) /metrics; not the Twilio routes
   * (signatures guard them) nor /health. Programs send `Authorization: Bearer <token>`; a browser
   * opens a link with `?token=<token>` once, which sets an HttpOnly, SameSite=Lax cookie and leads on
   * to the URL without the token. Wrong or missing: 401, before any WebSocket upgrade. Checked before
   * `authorize`, which still applies. 16-512 visible ASCII characters. Default: none.
   */
  accessToken?: string;
  /**
   * Origins besides the Stream's own (its public URL, or the request's own host) whose pages may send
   * state-changing requests: POSTs (offers, candidates, the input hook, pages' routes) and WebSocket
   * upgrades that carry an `Origin` header; others get 403. `cors.origins` are allowed too; `'*'`
   * allows any. Requests without an Origin (programs) are not affected. Default: none.
   */
  allowedOrigins?: string[] | '*';
  /**
   * A bearer token for `GET {path}/metrics` (a Prometheus scrape config's `authorization`): when set,
   * the route answers only requests with `Authorization: Bearer <token>` (compared in constant time),
   * in place of `authorize`. Without it and without `authorize`, /metrics is public. Default: none.
   */
  metricsToken?: string;
  websocket?: WebSocketOptions;
  /** Records every session to `<directory>/<sessionId>.wav` (stereo: caller left, handler right), and every room this instance mixes to `<directory>/room-<name>-<time>.wav` (mono: the whole mix). */
  record?: RecordOptions;
  /** Limits and defaults of rooms (`ctx.join()`): participants per room (10), rooms per instance (100), mixing rate (16000), PINs, idle participants (30 s). */
  rooms?: RoomsOptions;
  /** The VP8 codec of video streams. Default: ffmpeg child processes (FFMPEG_PATH, else PATH). */
  videoCodec?: VideoCodec;
  /** Title, subtitle and labels of the built-in page. */
  uiArgs?: UiArgs;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  mode: StreamMode;
  modality: Modality;
  concurrencyLimit: number;
  timeLimitMs: number | undefined;
  /** Undefined: no idle deadline. */
  idleTimeoutMs: number | undefined;
  publicUrl: string | undefined;
  twilioAuthToken: string | undefined;
  /** The REST client (call control, outbound calls, Twilio-side recording), when the Stream has one. */
  twilioClient: TwilioClient | undefined;
  customParameters: CustomParameters | undefined;
  telephone: Required<Omit<TelephoneOptions, 'greeting' | 'goodbye' | 'twilioRecording'>> &
    Pick<TelephoneOptions, 'greeting' | 'goodbye'> & { twilioRecording: TwilioRecordingOptions | undefined };
  webrtc: Required<Omit<WebRtcOptions, 'iceAdditionalHostAddresses' | 'icePortRange'>> &
    Pick<WebRtcOptions, 'iceAdditionalHostAddresses' | 'icePortRange'>;
  rtcConfiguration: StreamOptions['rtcConfiguration'];
  serverRtcConfiguration: RtcConfiguration | undefined;
  trackConstraints: Record<string, unknown> | undefined;
  rtpParams: Record<string, unknown> | undefined;
  uiArgs: UiArgs;
  websocket: Required<WebSocketOptions>;
  additionalInputs: InputSpec[];
  additionalOutputs: OutputSpec[];
  additionalOutputsHandler: StreamOptions['additionalOutputsHandler'];
  authorize: StreamOptions['authorize'];
  accessToken: string | undefined;
  /** Origins besides the Stream's own allowed to send state-changing requests, or '*'. */
  allowedOrigins: string[] | '*';
  metricsToken: string | undefined;
  record: RecordOptions | undefined;
  allowExtraTracks: boolean;
  maxQueuedMs: number;
  inboundBacklog: number;
  aheadMs: number;
  maxBodyBytes: number;
  rateLimit: { offers: RateLimitRule | undefined; candidates: RateLimitRule | undefined; signatureFailures: RateLimitRule | undefined };
  eventStreams: EventStreamLimits;
  cors: CorsOptions | undefined;
  cluster: ClusterOptions | undefined;
}

/** A session whose client sends nothing for this long ends (ms). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export function resolveOptions(options: StreamOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const limit = options.concurrencyLimit;
  if (limit !== undefined && limit !== null && !(limit === Infinity || (Number.isInteger(limit) && limit > 0))) {
    throw new TypeError(`concurrencyLimit must be a positive integer, Infinity or null (unlimited); got ${String(limit)}.`);
  }
  const timeLimit = options.timeLimit;
  if (timeLimit !== undefined && timeLimit !== null && !(timeLimit > 0)) {
    throw new TypeError(`timeLimit must be a positive number of seconds or null; got ${String(timeLimit)}.`);
  }
  const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!(typeof idle === 'number' && idle >= 0)) {
    throw new TypeError(`idleTimeoutMs must be a number of milliseconds, 0 or Infinity for none; got ${String(idle)}.`);
  }
  checkInputSpecs(options.additionalInputs ?? []);
  checkFrameAncestors(options.uiArgs?.frameAncestors);
  const telephone = options.telephone ?? {};
  const webrtc = options.webrtc ?? {};
  if (webrtc.codec !== undefined && webrtc.codec !== 'opus' && webrtc.codec !== 'pcmu') {
    throw new TypeError(`webrtc.codec must be "opus" or "pcmu"; got ${String(webrtc.codec)}.`);
  }
  if (options.metricsToken !== undefined && !(typeof options.metricsToken === 'string' && /^[\x21-\x7e]+$/.test(options.metricsToken))) {
    throw new TypeError('metricsToken must be a non-empty string of visible ASCII characters (it is sent as "Authorization: Bearer <token>").');
  }
  const leadMs = telephone.leadMs ?? 160;
  if (leadMs < 20) throw new TypeError(`telephone.leadMs must be at least 20 (one frame); got ${leadMs}.`);
  return {
    mode: options.mode ?? 'send-receive',
    modality: options.modality ?? 'audio',
    concurrencyLimit: limit === undefined || limit === null ? Infinity : limit,
    timeLimitMs: timeLimit === undefined || timeLimit === null ? undefined : timeLimit * 1000,
    idleTimeoutMs: idle === 0 || idle === Infinity ? undefined : idle,
    publicUrl: normalizePublicUrl(options.publicUrl ?? env.PUBLIC_URL),
    twilioAuthToken: options.twilioAuthToken ?? credentialToken(options.twilio) ?? (env.TWILIO_AUTH_TOKEN || undefined),
    twilioClient: resolveTwilioClient(options.twilio, env),
    customParameters: options.customParameters,
    telephone: {
      leadMs,
      markEveryMs: telephone.markEveryMs ?? 200,
      startTimeoutMs: telephone.startTimeoutMs ?? 5000,
      connectTimeoutMs: telephone.connectTimeoutMs ?? 30_000,
      greeting: telephone.greeting,
      goodbye: telephone.goodbye,
      twilioRecording: telephone.twilioRecording === true ? {} : telephone.twilioRecording || undefined,
    },
    webrtc: {
      codec: webrtc.codec ?? 'opus',
      connectTimeoutMs: webrtc.connectTimeoutMs ?? 30_000,
      disconnectGraceMs: webrtc.disconnectGraceMs ?? 5000,
      reorderWindow: webrtc.reorderWindow ?? 3,
      inactivityTimeoutMs: webrtc.inactivityTimeoutMs ?? 10_000,
      iceAdditionalHostAddresses: webrtc.iceAdditionalHostAddresses,
      icePortRange: webrtc.icePortRange,
      iceUseIpv6: webrtc.iceUseIpv6 ?? false,
    },
    rtcConfiguration: options.rtcConfiguration,
    serverRtcConfiguration: options.serverRtcConfiguration,
    trackConstraints: options.trackConstraints,
    rtpParams: options.rtpParams,
    uiArgs: options.uiArgs ?? {},
    websocket: {
      leadMs: options.websocket?.leadMs ?? 100,
      startTimeoutMs: options.websocket?.startTimeoutMs ?? 5000,
    },
    additionalInputs: options.additionalInputs ?? [],
    additionalOutputs: options.additionalOutputs ?? [],
    additionalOutputsHandler: options.additionalOutputsHandler,
    authorize: options.authorize,
    accessToken: checkAccessToken(options.accessToken),
    allowedOrigins: checkAllowedOrigins(options.allowedOrigins),
    metricsToken: options.metricsToken,
    record: options.record,
    allowExtraTracks: options.allowExtraTracks ?? false,
    maxQueuedMs: options.maxQueuedMs ?? 300_000,
    inboundBacklog: options.inboundBacklog ?? 50,
    aheadMs: options.aheadMs ?? 1000,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
    rateLimit: {
      offers: rateLimitRule(options.rateLimit, 'offers', { limit: 20, windowMs: 60_000 }),
      candidates: rateLimitRule(options.rateLimit, 'candidates', { limit: 200, windowMs: 60_000 }),
      signatureFailures: rateLimitRule(options.rateLimit, 'signatureFailures', { limit: 10, windowMs: 60_000 }),
    },
    eventStreams: options.eventStreams ?? {},
    cors: options.cors && checkCorsOptions(options.cors),
    cluster: options.cluster,
  };
}

function rateLimitRule(
  options: RateLimitOptions | false | undefined,
  name: keyof RateLimitOptions,
  fallback: RateLimitRule,
): RateLimitRule | undefined {
  if (options === false) return undefined;
  const rule = options?.[name];
  if (rule === false) return undefined;
  if (rule === undefined) return fallback;
  if (!(Number.isInteger(rule.limit) && rule.limit > 0) || !(rule.windowMs > 0)) {
    throw new TypeError(`rateLimit.${name} must be {limit: positive integer, windowMs: positive number} or false; got ${JSON.stringify(rule)}.`);
  }
  return rule;
}

function credentialToken(option: TwilioOption | undefined): string | undefined {
  return option && !isTwilioClient(option) ? option.authToken : undefined;
}

/** Checks a public URL and reduces it to its origin (scheme, host, port); throws a TypeError that says what is wrong. */
export function normalizePublicUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`publicUrl must be an absolute URL such as https://example.com; got ${url}.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(`publicUrl must be http(s); got ${url}.`);
  }
  if (parsed.pathname !== '/' || parsed.search) {
    throw new TypeError(`publicUrl is an origin (scheme, host, port) without a path; got ${url}. Mount the Stream at the path instead.`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}
