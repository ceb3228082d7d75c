import { expect } from 'chai';
import { Desk, type DeskAuthorize, deskPage } from '../../handlers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { EventReader } from '../support/sse.js';

/** The desk with its own `authorize`, on a Stream with no guard of its own. */
function serveDesk(authorize: DeskAuthorize): Promise<TestServer> {
  const desk = new Desk();
  return startTestServer(desk.handler, { rooms: { sampleRate: 8000 } }, { beforeMount: (stream) => stream.addPage('desk', deskPage(desk, authorize)) });
}

describe('security: the desk page says who may answer callers', function () {
  this.timeout(20000);

  it('needs its authorize: there is no open default', () => {
    const desk = new Desk();
    expect(() => (deskPage as unknown as (desk: Desk) => unknown)(desk)).to.throw(TypeError, /authorize/);
  });

  it('guards the page, its assets, its feed and its answers with its own authorize', async () => {
    const server = await serveDesk((ctx) => ctx.get('x-agent') === 'on duty');
    try {
      for (const [method, path] of [['GET', '/desk'], ['GET', '/desk/static/desk.js'], ['GET', '/desk/events'], ['POST', '/desk/answer']] as const) {
        const response = await fetch(`${server.url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'POST' ? '{"caller":"x"}' : undefined });
        expect(response.status, `${method} ${path}`).to.equal(401);
        expect(await response.json()).to.include({ error: 'UNAUTHORIZED' });
      }
      const feed = new EventReader(`${server.url}/desk/events`, { 'x-agent': 'on duty' });
      await feed.until(() => feed.events.length > 0);
      expect(feed.status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('takes answers as JSON only (415 otherwise: a cross-site form cannot send JSON without asking)', async () => {
    const server = await serveDesk(() => true);
    try {
      const answer = (body: string, type?: string) => fetch(`${server.url}/desk/answer`, { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body });
      for (const [type, body] of [['text/plain', '{"caller":"x"}'], ['application/x-www-form-urlencoded', 'caller=x'], ['multipart/form-data; boundary=b', '--b--'], [undefined, '{"caller":"x"}']] as const) {
        const response = await answer(body, type);
        expect(response.status, String(type)).to.equal(415);
        expect(await response.json()).to.include({ error: 'UNSUPPORTED_MEDIA_TYPE' });
      }
      const json = await answer('{"caller":"x"}', 'application/json; charset=utf-8');
      expect(json.status).to.equal(409);
      expect(await json.json()).to.deep.equal({ error: 'gone' });
    } finally {
      await server.close();
    }
  });
});
