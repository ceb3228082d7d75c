import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { Stream } from '../../src/stream.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { AudioSocket } from '../support/ws-client.js';

const APP = 'https://app.example.test';
const OTHER = 'https://evil.example.test';
const BROWSER_ROUTES: [string, string][] = [
  ['POST', '/webrtc/offer'],
  ['GET', '/webrtc/configuration'],
  ['POST', '/input_hook'],
  ['GET', '/outputs'],
  ['GET', '/status'],
];

function preflight(server: TestServer, path: string, method: string, origin: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'content-type, x-callstream-secret' },
  });
}

function request(server: TestServer, method: string, path: string, origin: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { Origin: origin, 'Content-Type': 'application/json', ...headers },
    body: method === 'POST' ? '{}' : undefined,
  });
}

describe('CORS on the browser-facing JSON routes', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends no CORS header by default (same origin only), on preflights and answers alike', async () => {
    server = await startTestServer(new EchoHandler());
    for (const [method, path] of BROWSER_ROUTES) {
      const pre = await preflight(server, path, method, APP);
      expect(pre.headers.get('access-control-allow-origin'), `${path} preflight`).to.equal(null);
      const answer = await request(server, method, path, APP);
      await answer.body?.cancel();
      expect(answer.headers.get('access-control-allow-origin'), `${method} ${path}`).to.equal(null);
    }
  });

  it('answers preflights and marks answers (errors included) for the allowed origins only', async () => {
    server = await startTestServer(new EchoHandler(), { cors: { origins: [APP, 'http://localhost:5173'], headers: ['Authorization'] } });
    for (const [method, path] of BROWSER_ROUTES) {
      const pre = await preflight(server, path, method, APP);
      expect(pre.status, `${path} preflight`).to.equal(204);
      expect(pre.headers.get('access-control-allow-origin')).to.equal(APP);
      expect(pre.headers.get('access-control-allow-methods')).to.contain(method);
      expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).to.contain('content-type').and.contain('x-callstream-secret').and.contain('authorization');
      expect(pre.headers.get('vary')).to.match(/origin/i);
      const refused = await preflight(server, path, method, OTHER);
      expect(refused.headers.get('access-control-allow-origin'), `${path} preflight from another origin`).to.equal(null);

      const answer = await request(server, method, path, APP);
      if (path === '/outputs') expect(answer.status).to.equal(400);
      await answer.body?.cancel();
      expect(answer.headers.get('access-control-allow-origin'), `${method} ${path} (HTTP ${answer.status})`).to.equal(APP);
      const other = await request(server, method, path, OTHER);
      await other.body?.cancel();
      expect(other.headers.get('access-control-allow-origin'), `${method} ${path} from another origin`).to.equal(null);
    }
  });

  it('marks the SSE outputs stream, and lets authorize refuse the request but not the preflight', async () => {
    server = await startTestServer(new EchoHandler(), { cors: { origins: [APP] }, authorize: (ctx) => ctx.get('authorization') === 'Bearer ok' });
    const program = new AudioSocket(server.url, '/websocket/offer', { Authorization: 'Bearer ok' });
    const { id, secret } = (await program.start('cors-outputs')).session as { id: string; secret: string };
    const reader = new EventReader(`${server.url}/outputs?webrtc_id=${id}&secret=${encodeURIComponent(secret)}`, { Origin: APP, Authorization: 'Bearer ok' });
    await reader.until(() => reader.status !== 0);
    expect(reader.status).to.equal(200);
    const sse = await fetch(`${server.url}/outputs?webrtc_id=${id}&secret=${encodeURIComponent(secret)}`, { headers: { Origin: APP, Authorization: 'Bearer ok' } });
    expect(sse.headers.get('access-control-allow-origin')).to.equal(APP);
    await sse.body?.cancel();

    expect((await preflight(server, '/webrtc/offer', 'POST', APP)).status).to.equal(204);
    const unauthorised = await request(server, 'POST', '/webrtc/offer', APP);
    expect(unauthorised.status).to.equal(401);
    expect(unauthorised.headers.get('access-control-allow-origin'), 'the page can read why').to.equal(APP);
    program.close();
    await reader.done;
  });

  it('allows any origin with "*", and refuses unsafe or malformed policies', async () => {
    server = await startTestServer(new EchoHandler(), { cors: { origins: '*' } });
    const answer = await request(server, 'GET', '/status', OTHER);
    await answer.body?.cancel();
    expect(answer.headers.get('access-control-allow-origin')).to.equal('*');
    expect(() => new Stream(new EchoHandler(), { cors: { origins: '*', credentials: true } })).to.throw(/credentials/);
    expect(() => new Stream(new EchoHandler(), { cors: { origins: ['app.example.test'] } })).to.throw(/not an origin/);
    expect(() => new Stream(new EchoHandler(), { cors: { origins: ['https://app.example.test/page'] } })).to.throw(/without a path/);
  });
});
