import { expect } from 'chai';
import { demoHandler } from '../../handlers/index.js';
import type { StreamOptions } from '../../src/options.js';
import type { AudioHandler } from '../../src/session/handler.js';
import { Stream } from '../../src/stream.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { tryUpgrade } from '../support/upgrade.js';
import { TestPeer } from '../support/webrtc-peer.js';

const counts = tally('origins');
const EVIL = 'https://evil.example';

/** The desk demo (its page's POST route included), without an access token: the origin check alone. */
function serveDesk(options: StreamOptions = {}): Promise<TestServer> {
  const demo = demoHandler('desk');
  return startTestServer(demo.handler as AudioHandler, { ...demo.options, rateLimit: false, ...options }, { beforeMount: (stream) => demo.setup?.(stream) });
}

/** The state-changing POSTs a page sends, each with the body it would send. */
async function posts(url: string): Promise<{ path: string; body: unknown; type?: string }[]> {
  const peer = new TestPeer(url, 'unused');
  await peer.pc.setLocalDescription(await peer.pc.createOffer());
  const sdp = peer.pc.localDescription!.sdp;
  await peer.close();
  return [
    { path: '/webrtc/offer', body: { type: 'offer', sdp, webrtc_id: 'origin-offer' } },
    { path: '/webrtc/offer', body: { type: 'ice-candidate', webrtc_id: 'origin-candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' } } },
    { path: '/input_hook', body: { webrtc_id: 'origin-input', room: 'sales' } },
    { path: '/desk/answer', body: { caller: 'nobody' } },
    { path: '/desk/answer', body: { caller: 'nobody' }, type: 'text/plain' },
  ];
}

async function post(server: TestServer, path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; error: unknown }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  let error: unknown;
  try {
    error = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  return { status: response.status, error };
}

describe('security: Origin checks on state-changing requests', function () {
  this.timeout(30000);
  reportAfter('origins', counts);
  let server: TestServer;

  before(async () => {
    server = await serveDesk();
  });

  after(async () => {
    await server.close();
  });

  it('refuses POSTs from another site\'s page (403 ORIGIN_NOT_ALLOWED); takes them without an Origin and from the server\'s own pages', async () => {
    for (const { path, body, type } of await posts(server.url)) {
      const headers: Record<string, string> = type ? { 'Content-Type': type } : {};
      for (const origin of [EVIL, 'null', 'http://127.0.0.1:1', `${server.url}.evil.example`]) {
        const refused = await post(server, path, body, { ...headers, Origin: origin });
        expect([refused.status, refused.error], `${path} from ${origin}`).to.deep.equal([403, 'ORIGIN_NOT_ALLOWED']);
        count(counts, 'refused');
      }
      for (const origin of [undefined, server.url, PUBLIC_URL]) {
        const taken = await post(server, path, body, origin ? { ...headers, Origin: origin } : headers);
        expect(taken.error, `${path} from ${String(origin)}`).to.not.equal('ORIGIN_NOT_ALLOWED');
        count(counts, 'taken');
      }
    }
    for (const session of server.stream.directory.sessions()) session.end('ended_by_server', 'test over');
  });

  it('refuses WebSocket and Realtime upgrades from another site\'s page before upgrading', async () => {
    for (const path of ['/websocket/offer', '/v1/realtime']) {
      const refused = await tryUpgrade(server.url, path, { Origin: EVIL });
      expect(refused.status, path).to.equal(403);
      expect(JSON.parse(refused.body)).to.include({ error: 'ORIGIN_NOT_ALLOWED' });
      count(counts, 'refused');
      for (const headers of [{}, { Origin: server.url }] as Record<string, string>[]) {
        expect((await tryUpgrade(server.url, path, headers)).status, `${path} ${JSON.stringify(headers)}`).to.equal(101);
      }
    }
  });

  it('leaves the Twilio routes to their signatures, whatever Origin they carry', async () => {
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') }, headers: { Origin: EVIL } });
    expect(hook.status).to.equal(200);
    expect(hook.streamUrl).to.be.a('string');
  });
});

describe('security: which origins count as the server\'s own or allowed', function () {
  this.timeout(20000);
  const answer = { caller: 'nobody' };

  it('allows the origins of allowedOrigins and of cors.origins, or any with "*"', async () => {
    const server = await serveDesk({ allowedOrigins: ['https://app.example.com'], cors: { origins: ['https://partner.example.com'] } });
    try {
      expect((await post(server, '/desk/answer', answer, { Origin: 'https://app.example.com' })).status).to.equal(409);
      expect((await post(server, '/desk/answer', answer, { Origin: 'https://partner.example.com' })).status).to.equal(409);
      expect((await post(server, '/desk/answer', answer, { Origin: EVIL })).status).to.equal(403);
    } finally {
      await server.close();
    }
    const open = await serveDesk({ allowedOrigins: '*' });
    try {
      expect((await post(open, '/desk/answer', answer, { Origin: EVIL })).status).to.equal(409);
    } finally {
      await open.close();
    }
  });

  it('computes the own origin from X-Forwarded-Proto/Host only when the app trusts its proxy', async () => {
    const server = await serveDesk({ publicUrl: undefined });
    const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'voice.behind-proxy.test', Origin: 'https://voice.behind-proxy.test' };
    try {
      expect((await post(server, '/desk/answer', answer, forwarded)).status, 'untrusted proxy headers').to.equal(403);
      server.app.proxy = true;
      expect((await post(server, '/desk/answer', answer, forwarded)).status, 'trusted proxy headers').to.equal(409);
      expect((await post(server, '/desk/answer', answer, { ...forwarded, Origin: 'http://voice.behind-proxy.test' })).status, 'the http form of an https site').to.equal(403);
    } finally {
      await server.close();
    }
  });

  it('refuses an allowedOrigins entry that is not an origin', () => {
    const bad: unknown[] = [['https://app.example.com/path'], ['app.example.com'], ['*.example.com'], [42], ['null'], 'https://app.example.com'];
    for (const value of bad) {
      expect(() => new Stream(() => {}, { allowedOrigins: value as string[] }), JSON.stringify(value)).to.throw(TypeError, /allowedOrigins/);
    }
  });
});
