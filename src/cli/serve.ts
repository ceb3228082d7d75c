import Koa from 'koa';
import { createDemo } from '../../handlers/index.js';
import { CallstreamError, isCallstreamError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { ClusterOptions } from '../options.js';
import { explainListenError, LISTEN_FLAGS, listen, type RunningServer } from '../server.js';
import type { Stream } from '../stream.js';
import { demoAccessWarnings, demoProtection, pageLinkHint, whyPublic } from './demo-access.js';

export interface ServeOptions {
  handler: string;
  host: string;
  port: number;
  /** Honour X-Forwarded-Proto/Host (behind Heroku's router or another trusted proxy). */
  trustProxy: boolean;
  /** How long live sessions get to end on SIGTERM before they are cut (ms). */
  drainMs: number;
  /** Sessions at once, deployment-wide; undefined: unlimited. */
  concurrencyLimit?: number;
  /** Seconds before a session is ended; undefined: none. */
  timeLimit?: number;
  /** The Stream's access token (CALLSTREAM_AUTH_TOKEN); undefined: none. */
  accessToken?: string;
  /** The Stream's cluster option (Redis, a worker's hub over IPC, or an instance id). */
  cluster?: ClusterOptions;
  logger?: Logger;
}

export interface DemoServer {
  stream: Stream;
  running: RunningServer;
  /** Stops accepting, ends live sessions (after the grace period), closes the server. */
  stop(): Promise<void>;
}

/** How long a Stream that could not start gets to let go of what it opened (ms). */
const ABANDON_MS = 1000;

/**
 * Starts the demo server: one Stream with a named demo handler, mounted at the root. Its
 * coordination is connected before the port is opened: a store out of reach rejects with
 * COORDINATION_UNAVAILABLE and nothing listens.
 */
export async function startDemoServer(options: ServeOptions): Promise<DemoServer> {
  const logger = options.logger ?? createLogger();
  const app = new Koa();
  app.proxy = options.trustProxy;
  // The proxy appends the address it saw: the last X-Forwarded-For entry is the client (the first is
  // whatever the client wrote), for rate limits and per-client connection bounds alike.
  app.maxIpsCount = 1;
  const metricsToken = process.env.METRICS_TOKEN || undefined;
  const { stream, welcome } = createDemo(options.handler, {
    logger,
    metricsToken,
    accessToken: options.accessToken,
    concurrencyLimit: options.concurrencyLimit,
    timeLimit: options.timeLimit,
    cluster: options.cluster,
  });
  let running: RunningServer;
  try {
    await stream.ready().catch((error: unknown) => {
      throw explainUnavailable(error);
    });
    stream.mount(app);
    if (!metricsToken && !options.accessToken) logger.warn('GET /metrics is public: set METRICS_TOKEN to require Authorization: Bearer <token> on it');
    const protection = demoProtection(options.accessToken, stream.options.twilioAuthToken);
    for (const warning of demoAccessWarnings(options.handler, whyPublic(options.host, stream.options.publicUrl), protection)) logger.warn(warning);
    running = await listen(app, options.host, options.port, { logger, announce: false }).catch((error: unknown) => {
      throw explainListenError(error, options.host, options.port, LISTEN_FLAGS);
    });
  } catch (error) {
    await abandon(stream);
    throw error;
  }
  const { concurrencyLimit, timeLimitMs } = stream.options;
  logger.info(
    {
      url: running.url,
      host: options.host,
      handler: options.handler,
      accessToken: Boolean(options.accessToken),
      trustProxy: options.trustProxy,
      instanceId: stream.coordination.instanceId,
      coordination: stream.coordination.kind,
      concurrencyLimit: concurrencyLimit === Infinity ? null : concurrencyLimit,
      timeLimit: timeLimitMs === undefined ? null : timeLimitMs / 1000,
      drainMs: options.drainMs,
    },
    'callstream demo server listening',
  );
  if (options.accessToken) {
    const page = `${stream.options.publicUrl ?? running.url}/${stream.pages.has('desk') ? 'desk' : ''}`;
    logger.info({ open: pageLinkHint(page) }, 'the access token is required: open the page once with it in the link (it sets a cookie); programs send Authorization: Bearer <token>');
  }
  for (const line of welcome(stream.options.publicUrl ?? running.url)) logger.info(line);
  return {
    stream,
    running,
    async stop() {
      const closed = running.close();
      await stream.shutdown(options.drainMs);
      running.server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Runs until SIGINT/SIGTERM, then drains and exits 0. Alone, a second signal is left to Node (the
 * process dies at once); in a worker (`inWorker`) later signals are ignored, as a terminal's Ctrl-C
 * reaches the worker both directly and through its primary, which decides when to force.
 */
export async function serveUntilSignalled(options: ServeOptions, { inWorker = false } = {}): Promise<void> {
  const server = await startDemoServer(options);
  const logger = server.stream.logger;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new sessions; ending live ones');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  const onSignal = inWorker ? process.on.bind(process) : process.once.bind(process);
  onSignal('SIGINT', stop);
  onSignal('SIGTERM', stop);
}

/** A coordination store out of reach, said with what to do about it. */
function explainUnavailable(error: unknown): unknown {
  if (!isCallstreamError(error, 'COORDINATION_UNAVAILABLE') || error.hint) return error;
  return new CallstreamError('COORDINATION_UNAVAILABLE', `The coordination store cannot be reached: ${error.message}`, {
    cause: error,
    hint: 'check that Redis is up and that --redis (or REDIS_URL) points to it; nothing was started.',
  });
}

/** Lets a Stream that could not start close what it opened, without waiting on a store that is not there. */
async function abandon(stream: Stream): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stream.shutdown().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ABANDON_MS)))]);
  clearTimeout(timer);
}
