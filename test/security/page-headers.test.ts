import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { Stream } from '../../src/stream.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';

const counts = tally('page headers');
const PAGE_FILES = ['/', '/static/app.js', '/static/style.css'];

/** The CSP directives of a response, by name. */
function directives(header: string | null): Map<string, string> {
  return new Map(
    (header ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name = '', ...values] = part.split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
  );
}

describe('security: the built-in page and its assets send security headers', function () {
  this.timeout(10000);
  reportAfter('page headers', counts);
  let server: TestServer;

  before(async () => {
    server = await startTestServer(new EchoHandler());
  });

  after(async () => {
    await server.close();
  });

  it('sends a strict Content-Security-Policy, nosniff and no-referrer with the page, its script and its style', async () => {
    for (const path of PAGE_FILES) {
      const response = await fetch(server.url + path);
      expect(response.status, path).to.equal(200);
      const csp = directives(response.headers.get('content-security-policy'));
      expect(csp.get('default-src'), `${path} default-src`).to.equal("'none'");
      expect(csp.get('script-src'), `${path} script-src`).to.equal("'self'");
      expect(csp.get('style-src'), `${path} style-src`).to.equal("'self'");
      expect(csp.get('connect-src'), `${path} connect-src`).to.equal("'self'");
      expect(csp.get('frame-ancestors'), `${path} frame-ancestors`).to.equal("'none'");
      expect(csp.get('base-uri'), `${path} base-uri`).to.equal("'none'");
      expect(csp.get('form-action'), `${path} form-action`).to.equal("'none'");
      expect(response.headers.get('x-content-type-options'), path).to.equal('nosniff');
      expect(response.headers.get('referrer-policy'), path).to.equal('no-referrer');
      count(counts, 'responses checked');
    }
  });

  it('serves a page the policy allows: no inline script, inline style or event handler attributes', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag, 'an inline script').to.match(/\bsrc="|type="application\/json"/);
    expect(html).not.to.match(/\sstyle="/);
    expect(html).not.to.match(/\son[a-z]+="/);
  });

  it('lets the page be framed only by the origins uiArgs.frameAncestors names, and refuses values that are not origins', async () => {
    const framed = await startTestServer(new EchoHandler(), { uiArgs: { frameAncestors: ['https://app.example.com', "'self'"] } });
    try {
      for (const path of PAGE_FILES) {
        const csp = directives((await fetch(framed.url + path)).headers.get('content-security-policy'));
        expect(csp.get('frame-ancestors'), path).to.equal("https://app.example.com 'self'");
      }
    } finally {
      await framed.close();
    }
    for (const bad of ['https://a.example; script-src *', 'javascript:alert(1)', '*', 'https://a.example\r\nSet-Cookie: x=1']) {
      expect(() => new Stream(new EchoHandler(), { uiArgs: { frameAncestors: [bad] } }), bad).to.throw(/frameAncestors/);
      count(counts, 'bad frameAncestors refused');
    }
  });

  it('leaves a page of your own (stream.ui) to set its own policy', async () => {
    const own = await startTestServer(new EchoHandler());
    own.stream.ui = (ctx) => {
      ctx.body = '<!doctype html><script>inline()</script>';
    };
    try {
      const response = await fetch(`${own.url}/`);
      expect(response.headers.get('content-security-policy')).to.equal(null);
    } finally {
      await own.close();
    }
  });
});
