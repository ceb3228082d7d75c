import { Writable } from 'node:stream';
import Koa from 'koa';
import { createLogger, type Logger } from '../../src/logger.js';
import { listen, type RunningServer } from '../../src/server.js';

/** A bare Koa app on a loopback port, for middleware tests; its log lines kept in memory. */
export interface TestApp {
  app: Koa;
  url: string;
  logger: Logger;
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startApp(setup: (app: Koa, logger: Logger) => void): Promise<TestApp> {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const app = new Koa();
  app.silent = true;
  setup(app, logger);
  const running: RunningServer = await listen(app, '127.0.0.1', 0);
  return {
    app,
    url: running.url,
    logger,
    lines,
    async close() {
      running.server.closeAllConnections();
      await running.close();
    },
  };
}
