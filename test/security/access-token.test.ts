import { expect } from 'chai';
import type { Layer } from '@koa/router';
import Koa from 'koa';
import { demoHandler } from '../../handlers/index.js';
import { silentLogger } from '../../src/logger.js';
import type { StreamOptions } from '../../src/options.js';
import { listen, type RunningServer } from '../../src/server.js';
import type { AudioHandler } from '../../src/session/handler.js';
import { Stream } from '../../src/stream.js';
import { AUTH_TOKEN, PUBLIC_URL } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { tryUpgrade } from '../support/upgrade.js';

const counts = tally('access token');
const TOKEN = 'access-token-5b0c1e9a7d3f4e62';
const BEARER = { Authorization: `Bearer ${TOKEN}` };
const WEBSOCKET_ROUTES = ['/websocket/offer', '/v1/realtime'];

interface Served {
  url: string;
  app: Koa;
  stream: Stream;
  /** Every GET and POST route the Stream mounted, as the router lists them. */
  routes: { method: string; path: string }[];
  close(): Promise<void>;
}

/** The desk demo (so a page added with addPage() is there too) with `options`, mounted at `path`. */
async function serveDesk(options: StreamOptions, path = ''): Promise<Served> {
  const demo = demoHandler('desk');
  const app = new Koa();
  const stream = new Stream(demo.handler as AudioHandler, { ...demo.options, logger: silentLogger(), publicUrl: PUBLIC_URL, twilioAuthToken: AUTH_TOKEN, twilio: false, ...options });
  demo.setup?.(stream);
  const router = stream.mount(app, path);
  const routes = (router.stack as Layer[])
    .filter((layer) => layer.methods.length > 0)
    .flatMap((layer) => layer.methods.filter((m) => m === 'GET' || m === 'POST').map((method) => ({ method, path: String(layer.path) })));
  const running: RunningServer = await listen(app, '127.0.0.1', 0);
  return {
    url: running.url,
    app,
    stream,
    routes,
    async close() {
      const closed = running.close();
      await stream.shutdown();
      running.server.closeAllConnections();
      await closed;
    },
  };
}

/** Concrete requests for a route as mounted (a page's catch-all stands for each of its sub-routes). */
function requestsFor(route: { method: string; path: string }): { method: string; path: string }[] {
  const path = route.path.replace(':file', 'app.js');
  if (path.endsWith('/desk/*rest')) {
    const base = path.slice(0, -'/*rest'.length);
    return route.method === 'GET' ? [`${base}/events`, `${base}/static/desk.js`, `${base}/`].map((p) => ({ method: 'GET', path: p })) : [{ method: 'POST', path: `${base}/answer` }];
  }
  return [{ method: route.method, path }];
}

async function request(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; response: Response }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method,
    redirect: 'manual',
    signal: controller.signal,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: method === 'POST' ? '{}' : undefined,
  });
  // An event stream never ends by itself: read what is there, then leave.
  const body = response.headers.get('content-type')?.startsWith('text/event-stream') ? '' : await response.text();
  controller.abort();
  return { status: response.status, body, response };
}

/** The `callstream_access` cookie a link set, as a Cookie header, with its attributes. */
function accessCookie(response: Response): { header: string; attributes: string[] } {
  const line = response.headers.getSetCookie().find((c) => c.startsWith('callstream_access='));
  expect(line, 'a callstream_access cookie').to.be.a('string');
  const [pair, ...attributes] = line!.split(';').map((part) => part.trim());
  return { header: pair!, attributes: attributes.map((a) => a.toLowerCase()) };
}

describe('security: one access token guards every route a person or a program uses', function () {
  this.timeout(30000);
  reportAfter('access token', counts);
  let served: Served;

  before(async () => {
    served = await serveDesk({ accessToken: TOKEN, rateLimit: false });
  });

  after(async () => {
    await served.close();
  });

  it('answers 401 (UNAUTHORIZED, WWW-Authenticate: Bearer) on every route but Twilio\'s and /health without the token, and serves them with it', async () => {
    const guarded = served.routes.filter(({ path }) => !path.startsWith('/telephone/') && path !== '/health');
    expect(guarded.map((r) => r.path)).to.include.members(['/', '/static/:file', '/desk', '/desk/*rest', '/webrtc/offer', '/webrtc/configuration', '/input_hook', '/outputs', '/status', '/metrics', ...WEBSOCKET_ROUTES]);
    for (const route of guarded) {
      if (WEBSOCKET_ROUTES.includes(route.path)) continue; // upgrades: below
      for (const { method, path } of requestsFor(route)) {
        for (const headers of [{}, { Authorization: 'Bearer wrong-token-0000000000' }, { Authorization: TOKEN }, { Cookie: `callstream_access=${TOKEN}` }] as Record<string, string>[]) {
          const refused = await request(`${served.url}${path}`, method, headers);
          expect(refused.status, `${method} ${path} ${JSON.stringify(headers)}`).to.equal(401);
          expect(JSON.parse(refused.body)).to.include({ error: 'UNAUTHORIZED' });
          expect(refused.response.headers.get('www-authenticate')).to.match(/^Bearer/);
          count(counts, 'refused');
        }
        const allowed = await request(`${served.url}${path}`, method, BEARER);
        expect(allowed.status, `${method} ${path} with the token`).to.not.equal(401);
        count(counts, 'served with the bearer token');
      }
    }
  });

  it('refuses WebSocket and Realtime upgrades without the token before upgrading, and upgrades with it', async () => {
    for (const path of WEBSOCKET_ROUTES) {
      for (const headers of [{}, { Authorization: 'Bearer wrong-token-0000000000' }] as Record<string, string>[]) {
        const answer = await tryUpgrade(served.url, path, headers);
        expect(answer.status, `${path} ${JSON.stringify(headers)}`).to.equal(401);
        expect(JSON.parse(answer.body)).to.include({ error: 'UNAUTHORIZED' });
        count(counts, 'refused');
      }
    }
    expect(served.stream.directory.size, 'no session opened by a refused upgrade').to.equal(0);
    for (const path of WEBSOCKET_ROUTES) expect((await tryUpgrade(served.url, path, BEARER)).status, `${path} with the token`).to.equal(101);
  });

  it('a link carrying the token sets an HttpOnly, SameSite=Lax cookie and leads on (303) to the URL without it; the cookie alone then serves', async () => {
    for (const parameter of ['token', 'access_token']) {
      const link = await request(`${served.url}/desk?view=all&${parameter}=${encodeURIComponent(TOKEN)}`, 'GET');
      expect(link.status).to.equal(303);
      expect(link.response.headers.get('location')).to.equal('/desk?view=all');
      expect(link.response.headers.get('cache-control')).to.equal('no-store');
      const cookie = accessCookie(link.response);
      expect(cookie.attributes).to.include.members(['httponly', 'samesite=lax', 'path=/']);
      expect(cookie.attributes.some((a) => a.startsWith('max-age=') || a.startsWith('expires='))).to.equal(true);
      expect(cookie.attributes, 'not Secure over plain http').to.not.include('secure');
      expect(cookie.header, 'the cookie is not the token itself').to.not.contain(TOKEN);

      const headers = { Cookie: cookie.header };
      expect((await request(`${served.url}/desk?view=all`, 'GET', headers)).status).to.equal(200);
      expect((await request(`${served.url}/`, 'GET', headers)).status).to.equal(200);
      expect((await request(`${served.url}/webrtc/configuration`, 'GET', headers)).status).to.equal(200);
      const answer = await request(`${served.url}/desk/answer`, 'POST', headers);
      expect(answer.status, 'the desk answers (with a 400: the body names no caller)').to.equal(400);
      const feed = new EventReader(`${served.url}/desk/events`, headers);
      await feed.until(() => feed.events.length > 0);
      expect(feed.events[0]).to.deep.include({ event: 'queue' });
      for (const path of WEBSOCKET_ROUTES) expect((await tryUpgrade(served.url, path, headers)).status, path).to.equal(101);
      count(counts, 'links followed');
    }
  });

  it('a link with a wrong token is refused and sets nothing; a token in the query of a POST or an upgrade is not taken', async () => {
    const wrong = await request(`${served.url}/?token=wrong-token-0000000000`, 'GET');
    expect(wrong.status).to.equal(401);
    expect(wrong.response.headers.getSetCookie()).to.deep.equal([]);
    expect((await request(`${served.url}/input_hook?token=${TOKEN}`, 'POST')).status).to.equal(401);
    expect((await tryUpgrade(served.url, `/websocket/offer?token=${TOKEN}`)).status).to.equal(401);
    // The redirect never leads to another host, whatever the path looks like.
    const odd = await request(`${served.url}/desk//evil.example/?token=${TOKEN}`, 'GET');
    expect(odd.status).to.equal(303);
    expect(odd.response.headers.get('location')).to.equal('/desk//evil.example/');
    count(counts, 'refused', 3);
  });

  it('leaves /health open and the Twilio routes to their signatures', async () => {
    expect((await request(`${served.url}/health`, 'GET')).status).to.equal(200);
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: served.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100001' } });
    expect(hook.status).to.equal(200);
    const call = new TwilioMediaStream({ baseUrl: served.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(hook.parameters);
    const feed = new EventReader(`${served.url}/desk/events`, BEARER);
    await feed.until(() => feed.events.some((e) => JSON.stringify(e.data).includes('+15550100001')));
    call.close();
    await call.closed;
  });
});

describe('security: the access token with the other guards', function () {
  this.timeout(20000);

  it('composes with authorize: both must let a request in', async () => {
    const served = await serveDesk({ accessToken: TOKEN, authorize: (ctx) => ctx.get('x-team') === 'blue' });
    try {
      expect((await request(`${served.url}/status`, 'GET', BEARER)).status).to.equal(401);
      expect((await request(`${served.url}/status`, 'GET', { 'x-team': 'blue' })).status).to.equal(401);
      expect((await request(`${served.url}/status`, 'GET', { ...BEARER, 'x-team': 'blue' })).status).to.equal(200);
      expect((await tryUpgrade(served.url, '/v1/realtime', BEARER)).status).to.equal(401);
      expect((await tryUpgrade(served.url, '/v1/realtime', { ...BEARER, 'x-team': 'blue' })).status).to.equal(101);
    } finally {
      await served.close();
    }
  });

  it('leaves /metrics to metricsToken when that is set', async () => {
    const served = await serveDesk({ accessToken: TOKEN, metricsToken: 'metrics-only-token' });
    try {
      expect((await request(`${served.url}/metrics`, 'GET', BEARER)).status).to.equal(401);
      expect((await request(`${served.url}/metrics`, 'GET', { Authorization: 'Bearer metrics-only-token' })).status).to.equal(200);
    } finally {
      await served.close();
    }
  });

  it('scopes the cookie to the mount path, and marks it Secure behind a trusted https proxy', async () => {
    const served = await serveDesk({ accessToken: TOKEN }, '/voice');
    served.app.proxy = true;
    try {
      const link = await request(`${served.url}/voice/?token=${TOKEN}`, 'GET', { 'X-Forwarded-Proto': 'https' });
      expect(link.status).to.equal(303);
      expect(link.response.headers.get('location')).to.equal('/voice/');
      const cookie = accessCookie(link.response);
      expect(cookie.attributes).to.include.members(['httponly', 'samesite=lax', 'path=/voice', 'secure']);
      expect((await request(`${served.url}/voice/status`, 'GET', { Cookie: cookie.header })).status).to.equal(200);
    } finally {
      await served.close();
    }
  });

  it('refuses a token that is short, has spaces or is not ASCII', () => {
    for (const bad of ['', 'short', 'sixteen chars ok', 'é'.repeat(20), 42]) {
      expect(() => new Stream(() => {}, { accessToken: bad as string }), JSON.stringify(bad)).to.throw(TypeError, /accessToken/);
    }
  });
});
