import { expect } from 'chai';
import type { Layer } from '@koa/router';
import Koa from 'koa';
import twilio from 'twilio';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { silentLogger } from '../../src/logger.js';
import { listen, type RunningServer } from '../../src/server.js';
import type { Session } from '../../src/session/session.js';
import { Stream } from '../../src/stream.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('forgeries');
const STREAM_URL = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;

/** Records a forgery and whether it was refused as expected. */
function forged(refused: boolean, what: string): void {
  count(counts, 'tried');
  if (refused) count(counts, 'refused');
  expect(refused, `forgery not refused: ${what}`).to.equal(true);
}

/** Opens a media stream's socket, signed with `signWith` (false: no signature) for `streamUrl`. */
async function upgradeStatus(server: TestServer, streamUrl: string, signWith: string | false, headers: Record<string, string> = {}): Promise<number> {
  const signature = signWith === false ? undefined : twilio.getExpectedTwilioSignature(signWith, streamUrl, {});
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/telephone/handler`, {
    headers: { ...(signature ? { 'X-Twilio-Signature': signature } : {}), ...headers },
  });
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', () => resolve(0));
  });
}

/** A webhook, then its media stream opened with `callSid` (its own by default) and started with `token`. */
async function streamWithToken(server: TestServer, token: string | undefined, callSid: string | undefined): Promise<TwilioMediaStream> {
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: AUTH_TOKEN }, callSid ?? sid('CA'));
  await call.opened;
  call.sendConnected();
  const parameters: Record<string, string> = token === undefined ? {} : { callstreamToken: token };
  if (callSid === undefined) {
    // A start without callSid at all.
    call.send({ event: 'start', streamSid: call.streamSid, start: { streamSid: call.streamSid, customParameters: parameters } });
  } else {
    call.sendStart(parameters);
  }
  return call;
}

async function webhookToken(server: TestServer, callSid: string): Promise<string> {
  const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
  expect(hook.status).to.equal(200);
  return hook.parameters.callstreamToken!;
}

/** Resolves with the close code, or 'open' if the socket is still open (and echoing) after `ms`. */
async function closeCodeOrOpen(call: TwilioMediaStream, ms = 1500): Promise<number | 'open'> {
  let timer: NodeJS.Timeout | undefined;
  const open = new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), ms)));
  const result = await Promise.race([call.closed.then((c) => c.code), open]);
  clearTimeout(timer);
  return result;
}

describe('reliability: forgeries are refused and counted', function () {
  this.timeout(30000);
  reportAfter('forgeries', counts);

  describe('Twilio signatures and call tokens', () => {
    let server: TestServer;

    before(async () => {
      // No rate limits here: every forgery must meet the signature check itself (the limit has its own test).
      server = await startTestServer(new EchoHandler(), { rateLimit: false, telephone: { connectTimeoutMs: 1500 } });
    });

    after(async () => {
      await server.close();
    });

    it('refuses webhooks with a missing, wrong, replayed (other URL or other params) signature; accepts the right one', async () => {
      const params = { CallSid: sid('CA'), From: '+15550001111' };
      const base = { baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params };
      for (const method of ['POST', 'GET'] as const) {
        const cases: [string, Parameters<typeof postWebhook>[0]][] = [
          ['missing', { ...base, method, signWith: false }],
          ['wrong key', { ...base, method, signWith: 'not-the-auth-token' }],
          ['replayed: signed for another origin', { ...base, method, publicUrl: 'https://attacker.example.test' }],
          ['replayed: signed for another path', { ...base, method, publicUrl: `${PUBLIC_URL}/elsewhere` }],
          ['replayed: signed for http instead of https', { ...base, method, publicUrl: PUBLIC_URL.replace('https', 'http') }],
        ];
        for (const [what, options] of cases) {
          const result = await postWebhook(options);
          forged(result.status === 403 && !result.streamUrl, `${method} webhook, ${what}: HTTP ${result.status}`);
        }
      }
      // Replayed with tampered parameters: a valid signature of other POST params.
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/telephone/incoming`, params);
      const tampered = await fetch(`${server.url}/telephone/incoming`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
        body: new URLSearchParams({ ...params, From: '+15559999999' }).toString(),
      });
      forged(tampered.status === 403, `tampered parameters: HTTP ${tampered.status}`);
      expect(await tampered.text()).to.contain('X-Twilio-Signature');

      expect((await postWebhook(base)).status).to.equal(200);
      expect((await postWebhook({ ...base, method: 'GET' })).status).to.equal(200);
    });

    it('refuses media-stream upgrades with a missing, wrong or replayed signature; accepts the right one', async () => {
      const cases: [string, string, string | false][] = [
        ['missing', STREAM_URL, false],
        ['wrong key', STREAM_URL, 'not-the-auth-token'],
        ['replayed: the https:// URL', STREAM_URL.replace('wss', 'https'), AUTH_TOKEN],
        ['replayed: another host', 'wss://attacker.example.test/telephone/handler', AUTH_TOKEN],
        ['replayed: another path', `${PUBLIC_URL.replace('https', 'wss')}/telephone/incoming`, AUTH_TOKEN],
        ['replayed: a webhook signature (with its params)', `${PUBLIC_URL}/telephone/incoming`, AUTH_TOKEN],
      ];
      for (const [what, url, key] of cases) {
        const status = await upgradeStatus(server, url, key);
        forged(status === 403, `media upgrade, ${what}: HTTP ${status}`);
      }
      expect(await upgradeStatus(server, STREAM_URL, AUTH_TOKEN)).to.equal(101);
    });

    it('refuses forged status callbacks: a forged "completed" cannot hang up a live call', async () => {
      const callSid = sid('CA');
      const token = await webhookToken(server, callSid);
      const call = await streamWithToken(server, token, callSid);
      expect(await closeCodeOrOpen(call, 200)).to.equal('open');
      const params = { CallSid: callSid, CallStatus: 'completed', CallDuration: '1' };
      const url = `${PUBLIC_URL}/telephone/status`;
      const cases: [string, Record<string, string>][] = [
        ['missing', {}],
        ['wrong key', { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature('not-the-auth-token', url, params) }],
        ['replayed: the webhook URL', { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/telephone/incoming`, params) }],
        ['replayed: other params', { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, { ...params, CallStatus: 'in-progress' }) }],
      ];
      for (const [what, headers] of cases) {
        const response = await fetch(`${server.url}/telephone/status`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams(params).toString(),
        });
        await response.body?.cancel();
        forged(response.status === 403, `status callback, ${what}: HTTP ${response.status}`);
      }
      call.sendMedia(Buffer.alloc(160, 0x43));
      await call.waitFor(() => call.receivedAudio().includes(0x43), 3000, 'the call still echoes');
      call.close();
    });

    it('refuses a stream whose call token is missing, forged, reused, expired or from another call', async () => {
      // Missing and forged.
      for (const [what, token] of [['missing', undefined], ['forged', 'x'.repeat(32)]] as const) {
        const call = await streamWithToken(server, token, sid('CA'));
        const code = await closeCodeOrOpen(call);
        forged(code === 1008, `token ${what}: ${code}`);
      }

      // Reused: the first stream takes the token, a second one with the same token and callSid is refused.
      const callA = sid('CA');
      const tokenA = await webhookToken(server, callA);
      const first = await streamWithToken(server, tokenA, callA);
      expect(await closeCodeOrOpen(first, 300)).to.equal('open');
      const replay = await streamWithToken(server, tokenA, callA);
      const replayCode = await closeCodeOrOpen(replay);
      forged(replayCode === 1008, `token reused: ${replayCode}`);
      first.close();

      // From another call: B's stream (its own callSid) presenting A's token, or no callSid at all.
      const callC = sid('CA');
      const tokenC = await webhookToken(server, callC);
      for (const [what, callSid] of [["another call's callSid", sid('CA')], ['no callSid', undefined]] as const) {
        const thief = await streamWithToken(server, tokenC, callSid);
        const code = await closeCodeOrOpen(thief);
        forged(code === 1008, `token of another call, ${what}: ${code}`);
      }
      // The attempts did not burn C's token: C's own stream still connects and is served.
      const own = await streamWithToken(server, tokenC, callC);
      expect(await closeCodeOrOpen(own, 300)).to.equal('open');
      own.sendMedia(Buffer.alloc(160, 0x42));
      await own.waitFor(() => own.receivedAudio().includes(0x42), 3000, "C's echo");
      own.close();

      // Expired: the webhook's place and token are gone after connectTimeoutMs.
      const callD = sid('CA');
      const tokenD = await webhookToken(server, callD);
      // D's place expires with its token (one deadline); D's is the last place taken, so none left means it is gone.
      await waitUntil(async () => (await server.stream.status()).reserved === 0, 5000, "D's place and token expired");
      const late = await streamWithToken(server, tokenD, callD);
      const lateCode = await closeCodeOrOpen(late);
      forged(lateCode === 1008, `token expired: ${lateCode}`);
    });
  });

  describe('sessions that are not yours: input_hook and outputs', () => {
    let server: TestServer;
    const sessions: Session[] = [];

    before(async () => {
      server = await startTestServer(new EchoHandler(), { additionalInputs: [{ name: 'name', type: 'text', default: 'nobody' }] });
      server.stream.on('session', (s) => sessions.push(s));
    });

    after(async () => {
      await server.close();
    });

    it('refuses input_hook and outputs without the secret, with a wrong one, or with another session\'s', async () => {
      const a = new AudioSocket(server.url);
      const b = new AudioSocket(server.url);
      const sa = (await a.start('victim-a')).session as { id: string; secret: string };
      const sb = (await b.start('attacker-b')).session as { id: string; secret: string };
      // A phone call is a session too: its secret is known only to server code.
      const callSid = sid('CA');
      const token = await webhookToken(server, callSid);
      const phone = await streamWithToken(server, token, callSid);
      await waitUntil(() => sessions.some((s) => s.transport === 'telephone'), 2000, 'the phone session');
      const phoneSession = sessions.find((s) => s.transport === 'telephone')!;

      const post = (body: unknown, headers: Record<string, string> = {}, query = '') =>
        fetch(`${server.url}/input_hook${query}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
      const victims = [sa.id, phoneSession.id];
      for (const id of victims) {
        const attempts: [string, Promise<Response>][] = [
          ['no secret', post({ webrtc_id: id, name: 'pwned' })],
          ['wrong secret', post({ webrtc_id: id, name: 'pwned' }, { 'X-Callstream-Secret': 'guess' })],
          ["another session's secret", post({ webrtc_id: id, name: 'pwned' }, { 'X-Callstream-Secret': sb.secret })],
          ["another session's secret in the query", post({ webrtc_id: id, name: 'pwned' }, {}, `?secret=${sb.secret}`)],
          ['an empty secret', post({ webrtc_id: id, name: 'pwned' }, { 'X-Callstream-Secret': '' })],
          ['the secret as websocket_id trick', post({ websocket_id: id, webrtc_id: id, name: 'pwned', secret: sb.secret })],
        ];
        for (const [what, attempt] of attempts) {
          const response = await attempt;
          forged(response.status === 403, `input_hook for ${id}, ${what}: HTTP ${response.status}`);
        }
        const outputs: [string, string, Record<string, string>][] = [
          ['no secret', `?webrtc_id=${id}`, {}],
          ['wrong secret', `?webrtc_id=${id}&secret=guess`, {}],
          ["another session's secret", `?webrtc_id=${id}&secret=${sb.secret}`, {}],
          ["another session's secret (header)", `?webrtc_id=${id}`, { 'X-Callstream-Secret': sb.secret }],
        ];
        for (const [what, query, headers] of outputs) {
          const response = await fetch(`${server.url}/outputs${query}`, { headers });
          await response.body?.cancel();
          forged(response.status === 403, `outputs of ${id}, ${what}: HTTP ${response.status}`);
        }
      }
      expect(server.stream.getSession(sa.id)!.inputs.name).to.equal('nobody');
      expect(phoneSession.inputs.name).to.equal('nobody');

      // The owners get through.
      expect((await post({ webrtc_id: sa.id, name: 'Ada' }, { 'X-Callstream-Secret': sa.secret })).status).to.equal(200);
      expect((await post({ webrtc_id: phoneSession.id, name: 'Bob' }, { 'X-Callstream-Secret': phoneSession.secret })).status).to.equal(200);
      const reader = new EventReader(`${server.url}/outputs?webrtc_id=${sa.id}&secret=${encodeURIComponent(sa.secret)}`);
      await reader.until(() => reader.status !== 0);
      expect(reader.status).to.equal(200);
      a.close();
      await reader.done;
      b.close();
      phone.close();
    });
  });

  describe('the authorize hook', () => {
    let running: RunningServer;
    let stream: Stream;
    let guarded: { method: string; path: string }[];

    before(async () => {
      const app = new Koa();
      stream = new Stream(new EchoHandler(), {
        logger: silentLogger(),
        publicUrl: PUBLIC_URL,
        twilioAuthToken: AUTH_TOKEN,
        authorize: (ctx) => ctx.get('authorization') === 'Bearer let-me-in',
      });
      const router = stream.mount(app);
      // Every route but Twilio's (which signatures guard), as mounted: a new route is covered at once.
      guarded = (router.stack as Layer[])
        .map((layer) => ({ layer, path: String(layer.path) }))
        // The load balancer's health probe is open by design: it tells only whether the instance drains.
        .filter(({ layer, path }) => layer.methods.length > 0 && !path.startsWith('/telephone/') && path !== '/health')
        .flatMap(({ layer, path }) => layer.methods.filter((m) => m === 'GET' || m === 'POST').map((method) => ({ method, path })));
      running = await listen(app, '127.0.0.1', 0);
    });

    after(async () => {
      const closed = running.close();
      await stream.shutdown();
      running.server.closeAllConnections();
      await closed;
    });

    function concrete(path: string): string {
      return path.replace(':file', 'app.js');
    }

    it('guards every non-Twilio route: 401 without authorisation, served with it', async () => {
      expect(guarded.map((r) => r.path)).to.include.members(['/', '/static/:file', '/webrtc/offer', '/webrtc/configuration', '/websocket/offer', '/input_hook', '/outputs', '/status']);
      for (const { method, path } of guarded) {
        if (path === '/websocket/offer') continue; // an upgrade: below
        for (const authorization of [undefined, 'Bearer wrong', 'let-me-in']) {
          const response = await fetch(`${running.url}${concrete(path)}`, {
            method,
            headers: authorization ? { 'Content-Type': 'application/json', Authorization: authorization } : { 'Content-Type': 'application/json' },
            body: method === 'POST' ? '{}' : undefined,
          });
          await response.body?.cancel();
          forged(response.status === 401, `${method} ${path} with authorization ${String(authorization)}: HTTP ${response.status}`);
        }
        const allowed = await fetch(`${running.url}${concrete(path)}`, {
          method,
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer let-me-in' },
          body: method === 'POST' ? '{}' : undefined,
        });
        await allowed.body?.cancel();
        expect(allowed.status, `${method} ${path} with authorisation`).to.not.equal(401);
      }
      for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
        const socket = new AudioSocket(running.url, '/websocket/offer', headers);
        const refused = await socket.opened.then(() => 'open', (error: Error) => error.message);
        forged(/HTTP 401/.test(refused), `websocket upgrade: ${refused}`);
      }
      const allowed = new AudioSocket(running.url, '/websocket/offer', { Authorization: 'Bearer let-me-in' });
      await allowed.opened;
      allowed.close();
    });

    it('leaves the Twilio routes to their signatures', async () => {
      const hook = await postWebhook({ baseUrl: running.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
      expect(hook.status).to.equal(200);
    });
  });
});
