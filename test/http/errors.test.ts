import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';
import { clientWentAway, httpErrors, statusOf } from '../../src/http/errors.js';
import { startApp, type TestApp } from '../support/koa-app.js';

describe('errors as HTTP answers', () => {
  it('statusOf: the error\'s own status, else its code\'s, else 500', () => {
    const expected: [string, number][] = [['BAD_REQUEST', 400], ['BAD_SIGNATURE', 403], ['NOT_FOUND', 404], ['CONCURRENCY_LIMIT', 429], ['RATE_LIMITED', 429], ['UNSUPPORTED', 400], ['HANDLER_ERROR', 500]];
    for (const [code, status] of expected) expect(statusOf(new CallstreamError(code as 'BAD_REQUEST', 'x')), code).to.equal(status);
    expect(statusOf(Object.assign(new CallstreamError('BAD_REQUEST', 'x'), { status: 413 }))).to.equal(413);
    expect(statusOf(Object.assign(new Error('x'), { status: 404 })), 'only callstream errors choose').to.equal(500);
    expect(statusOf(undefined)).to.equal(500);
  });

  it('clientWentAway: the network codes of a client gone or cut, nothing else', () => {
    for (const code of ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_HTTP_REQUEST_TIMEOUT']) {
      expect(clientWentAway(Object.assign(new Error('x'), { code })), code).to.equal(true);
    }
    for (const error of [Object.assign(new Error('x'), { code: 'ENOENT' }), { code: 42 }, new Error('x'), undefined, null]) {
      expect(clientWentAway(error), String(error)).to.equal(false);
    }
  });

  describe('the middleware', () => {
    let app: TestApp;

    before(async () => {
      app = await startApp((koa, logger) => {
        koa.use(httpErrors(logger));
        koa.use((ctx) => {
          if (ctx.path === '/missing') throw new CallstreamError('NOT_FOUND', 'No such session.');
          if (ctx.path === '/bug') throw new TypeError('undefined is not a function');
          if (ctx.path === '/gone') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          ctx.body = 'fine';
        });
      });
    });

    after(() => app.close());

    it('answers a callstream error with its status and JSON, logged at debug', async () => {
      const response = await fetch(`${app.url}/missing`);
      expect(response.status).to.equal(404);
      expect(await response.json()).to.deep.equal({ error: 'NOT_FOUND', message: 'No such session.' });
      const line = app.lines.find((l) => l.msg === 'request refused')!;
      expect(line).to.deep.include({ level: 20, status: 404, path: '/missing', message: 'No such session.' });
    });

    it('answers anything else with 500 and no details, logged as an error with its stack', async () => {
      const response = await fetch(`${app.url}/bug`);
      expect(response.status).to.equal(500);
      expect(await response.json()).to.deep.equal({ error: 'INTERNAL', message: 'Internal error; see the server log.' });
      const line = app.lines.find((l) => l.msg === 'request failed')!;
      expect(line).to.deep.include({ level: 50, path: '/bug' });
      expect((line.err as { message: string }).message).to.equal('undefined is not a function');
    });

    it('leaves a client that went away unanswered, with a debug line only', async () => {
      const before = app.lines.length;
      const response = await fetch(`${app.url}/gone`);
      expect(response.status, "Koa's own default: nothing was set").to.equal(404);
      const lines = app.lines.slice(before);
      expect(lines.map((l) => [l.level, l.msg, l.code])).to.deep.equal([[20, 'request cut: the client went away or was too slow', 'ECONNRESET']]);
    });

    it('stays out of the way of a request that succeeds', async () => {
      const before = app.lines.length;
      expect(await (await fetch(`${app.url}/ok`)).text()).to.equal('fine');
      expect(app.lines.length).to.equal(before);
    });
  });
});
