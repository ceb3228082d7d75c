import { expect } from 'chai';
import { readForm, readJson } from '../../src/http/body.js';
import { httpErrors } from '../../src/http/errors.js';
import { startApp, type TestApp } from '../support/koa-app.js';

const LIMIT = 64;

/** A body sent in chunks, with no Content-Length (chunked transfer). */
function chunked(text: string): RequestInit {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 16) controller.enqueue(bytes.subarray(i, i + 16));
      controller.close();
    },
  });
  return { method: 'POST', body, duplex: 'half' } as RequestInit;
}

describe('request bodies: forms, JSON and the size limit', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp((koa, logger) => {
      koa.use(httpErrors(logger));
      koa.use(async (ctx) => {
        ctx.body = ctx.path === '/json' ? { json: await readJson(ctx, LIMIT) } : { form: await readForm(ctx, LIMIT) };
      });
    });
  });

  after(() => app.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${app.url}${path}`, { method: 'POST', body, headers });

  it('reads a form into a record, the last of a repeated key winning', async () => {
    const response = await post('/form', 'CallSid=CA1&From=%2B1555&From=%2B1666');
    expect(await response.json()).to.deep.equal({ form: { CallSid: 'CA1', From: '+1666' } });
  });

  it('reads JSON, and refuses malformed JSON with 400', async () => {
    expect(await (await post('/json', '{"a":[1,2]}')).json()).to.deep.equal({ json: { a: [1, 2] } });
    const bad = await post('/json', '{"a":');
    expect(bad.status).to.equal(400);
    const body = (await bad.json()) as { error: string; message: string };
    expect(body.error).to.equal('BAD_REQUEST');
    expect(body.message).to.match(/^The body is not valid JSON: /);
  });

  it('takes a body of exactly the limit, declared or chunked', async () => {
    const text = `x=${'a'.repeat(LIMIT - 2)}`;
    expect((await post('/form', text)).status).to.equal(200);
    expect((await fetch(`${app.url}/form`, chunked(text))).status).to.equal(200);
  });

  it('refuses one byte more with 413 and closes the connection, declared or chunked', async () => {
    const text = `x=${'a'.repeat(LIMIT - 1)}`;
    for (const response of [await post('/form', text), await fetch(`${app.url}/form`, chunked(text))]) {
      expect(response.status).to.equal(413);
      expect(response.headers.get('connection')).to.equal('close');
      expect(await response.json()).to.deep.equal({ error: 'BAD_REQUEST', message: `The body is larger than the limit of ${LIMIT} bytes.` });
    }
  });
});
