import { expect } from 'chai';
import Koa from 'koa';
import { EventStreams } from '../../src/http/sse.js';
import { listen } from '../../src/server.js';
import { EventReader } from '../support/sse.js';
import { waitUntil } from '../support/wait.js';

describe('http: server-sent event streams', () => {
  it('ends a stream when the signal it was opened with aborts (a viewer whose access ends)', async () => {
    const streams = new EventStreams({ keepAliveMs: 60_000 });
    const access = new AbortController();
    const app = new Koa();
    app.use((ctx) => {
      const feed = streams.openFor(ctx, 'feed', { signal: access.signal });
      feed.send('hello', { n: 1 });
    });
    const running = await listen(app, '127.0.0.1', 0);
    try {
      const reader = new EventReader(running.url);
      await reader.until(() => reader.events.length === 1);
      access.abort('access revoked');
      await reader.done;
      expect(reader.events).to.deep.equal([{ event: 'hello', data: { n: 1 } }, { event: 'end', data: { reason: 'access revoked' } }]);
      await waitUntil(() => streams.size === 0, 2000, 'the stream forgotten');
    } finally {
      await running.close();
    }
  });

  it('refuses a stream past its bounds with CONNECTION_LIMIT: 429 for one client, 503 for the instance', async () => {
    const streams = new EventStreams({ total: 3, perClient: 2, perSubject: 1, keepAliveMs: 60_000 });
    const app = new Koa();
    app.use(async (ctx) => {
      try {
        streams.openFor(ctx, String(ctx.query.subject));
      } catch (error) {
        const { code, status } = error as { code: string; status: number };
        ctx.status = status;
        ctx.body = { error: code, retryAfter: ctx.response.get('Retry-After') };
      }
    });
    app.proxy = true;
    const running = await listen(app, '127.0.0.1', 0);
    const open = (subject: string, from: string) => new EventReader(`${running.url}/?subject=${subject}`, { 'X-Forwarded-For': from });
    const readers: EventReader[] = [];
    const statusOf = async (subject: string, from: string) => {
      const reader = open(subject, from);
      readers.push(reader);
      await reader.until(() => reader.status !== 0);
      return reader.status;
    };
    try {
      expect(await statusOf('x', '192.0.2.1')).to.equal(200);
      expect(await statusOf('x', '192.0.2.1'), 'a second stream on one subject').to.equal(429);
      expect(await statusOf('y', '192.0.2.1')).to.equal(200);
      expect(await statusOf('z', '192.0.2.1'), 'a third stream of one client').to.equal(429);
      expect(await statusOf('x', '192.0.2.2')).to.equal(200);
      expect(await statusOf('y', '192.0.2.3'), 'a fourth stream on the instance').to.equal(503);
      expect(streams.size).to.equal(3);
      for (const reader of readers) reader.close();
      await waitUntil(() => streams.size === 0, 2000, 'closed streams forgotten');
      expect(await statusOf('z', '192.0.2.1'), 'a client that closed its streams may open more').to.equal(200);
    } finally {
      for (const reader of readers) reader.close();
      const closed = running.close();
      running.server.closeAllConnections();
      await closed;
    }
  });
});
