import Koa from 'koa';
import { createDemoStream } from '../../handlers/index.js';
import { createLogger, type Logger } from '../logger.js';
import { listen, type RunningServer } from '../server.js';
import { Stream } from '../stream.js';

export interface ServeOptions {
  handler: string;
  host: string;
  port: number;
  /** Honour X-Forwarded-Proto/Host (behind Heroku's router or another trusted proxy). */
  trustProxy: boolean;
  /** How long live sessions get to end on SIGTERM before they are cut (ms). */
  drainMs: number;
  logger?: Logger;
}

export interface DemoServer {
  stream: Stream;
  running: RunningServer;
  /** Stops accepting, ends live sessions (after the grace period), closes the server. */
  stop(): Promise<void>;
}

/** Starts the demo server: one Stream with a named demo handler, mounted at the root. */
export async function startDemoServer(options: ServeOptions): Promise<DemoServer> {
  const logger = options.logger ?? createLogger();
  const app = new Koa();
  app.proxy = options.trustProxy;
  const metricsToken = process.env.METRICS_TOKEN || undefined;
  const stream = createDemoStream(options.handler, { logger, metricsToken });
  stream.mount(app);
  if (!metricsToken) logger.warn('GET /metrics is public: set METRICS_TOKEN to require Authorization: Bearer <token> on it');
  const running = await listen(app, options.host, options.port);
  logger.info({ url: running.url, handler: options.handler, trustProxy: options.trustProxy }, 'callstream demo server listening');
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

/** Runs until SIGINT/SIGTERM, then drains and exits 0. */
export async function serveUntilSignalled(options: ServeOptions): Promise<void> {
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
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
