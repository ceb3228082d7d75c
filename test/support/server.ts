import Koa from 'koa';
import { type HttpServerOptions, listen, type RunningServer } from '../../src/server.js';
import { Stream } from '../../src/stream.js';
import type { StreamOptions } from '../../src/options.js';
import type { AudioHandler, VideoFunction } from '../../src/session/handler.js';
import { createLogger } from '../../src/logger.js';
import { postWebhook, sid, TwilioMediaStream } from './twilio-call.js';

export const PUBLIC_URL = 'https://voice.example.test';
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';

export interface TestServer {
  stream: Stream;
  app: Koa;
  running: RunningServer;
  url: string;
  close(): Promise<void>;
}

/** A Stream mounted on a fresh Koa app, listening on a free loopback port. */
export async function startTestServer(
  handler: AudioHandler | VideoFunction,
  options: StreamOptions = {},
  extra: { path?: string; serverOptions?: HttpServerOptions; beforeMount?: (stream: Stream) => void } = {},
): Promise<TestServer> {
  const app = new Koa();
  const stream = new Stream(handler, {
    publicUrl: PUBLIC_URL,
    twilioAuthToken: AUTH_TOKEN,
    // Never Twilio's real REST API from tests, whatever TWILIO_* the machine has; tests that want
    // REST pass the fake API's options (test/support/fake-twilio.ts).
    twilio: false,
    logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }),
    ...options,
  });
  extra.beforeMount?.(stream);
  stream.mount(app, extra.path ?? '');
  const running = await listen(app, '127.0.0.1', 0, extra.serverOptions);
  return {
    stream,
    app,
    running,
    url: running.url,
    async close() {
      const closed = running.close();
      await stream.shutdown();
      running.server.closeAllConnections();
      await closed;
    },
  };
}

/** Resolves after `ms` (for tests that must let real time pass, e.g. socket timeouts). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Plays Twilio placing a call to a test server: the signed webhook, then the signed media stream
 * with its `start`. Resolves with the connected call.
 */
export async function dialTestServer(server: TestServer, params: Record<string, string> = {}): Promise<TwilioMediaStream> {
  const callSid = sid('CA');
  const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, ...params } });
  if (!hook.streamUrl) throw new Error(`the webhook answered no stream: ${hook.status} ${hook.body}`);
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl, authToken: AUTH_TOKEN }, callSid);
  await call.begin(hook.parameters);
  return call;
}
