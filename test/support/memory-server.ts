/**
 * A test server in its own process, for tests that measure what a flood costs the server: an echo
 * Stream behind `listen()`, its options (JSON) in CALLSTREAM_TEST_OPTIONS, X-Forwarded-For trusted
 * when CALLSTREAM_TEST_PROXY=1. Run with --expose-gc: `GET /__memory` collects garbage and answers
 * process.memoryUsage(). Prints `{"url": ...}` on stdout once it listens; stops on SIGTERM.
 */
import Koa from 'koa';
import { EchoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import type { StreamOptions } from '../../src/options.js';
import { listen } from '../../src/server.js';
import { Stream } from '../../src/stream.js';

const options = JSON.parse(process.env.CALLSTREAM_TEST_OPTIONS ?? '{}') as StreamOptions;
const app = new Koa();
app.proxy = process.env.CALLSTREAM_TEST_PROXY === '1';
const collect = (globalThis as { gc?: () => void }).gc;
app.use(async (ctx, next) => {
  if (ctx.path !== '/__memory') return next();
  if (!collect) throw new Error('run the memory server with --expose-gc');
  // Twice: the first pass may only queue finalizers (buffers, sockets) that the second frees.
  collect();
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  ctx.body = process.memoryUsage();
});
const stream = new Stream(new EchoHandler(), { twilio: false, logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }), ...options });
await stream.ready();
stream.mount(app);
const running = await listen(app, '127.0.0.1', 0);
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.once('SIGTERM', () => {
  void Promise.all([running.close(), stream.shutdown()]).then(() => process.exit(0));
  running.server.closeAllConnections();
});
