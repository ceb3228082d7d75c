import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { ManualClock } from '../../src/clock.js';
import { CALL_MEMORY_MS } from '../../src/coordination/coordination.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { MemoryHub } from '../../src/coordination/memory-hub.js';
import { LIVENESS_CHECK_TIMEOUT_MS } from '../../src/transports/telephone/ended-calls.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream, type WebhookResult } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';

const STREAM_URL = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;
const HANG_UP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';

/** Twilio's signed webhook for `callSid` (CallStatus as given: `ringing` for a call's first one, `in-progress` for a redirect). */
function webhook(server: TestServer, callSid: string, callStatus?: string, authToken = AUTH_TOKEN) {
  const params: Record<string, string> = { CallSid: callSid, From: '+15550001111' };
  if (callStatus) params.CallStatus = callStatus;
  return postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken, params });
}

/** A webhook refused as a replay: a clean `<Hangup/>` (200), no stream, no token. */
function expectHungUp(answer: WebhookResult, what: string): void {
  expect(answer.status, what).to.equal(200);
  expect(answer.body, what).to.equal(HANG_UP);
  expect(answer.streamUrl, what).to.equal(undefined);
  expect(answer.parameters, what).to.deep.equal({});
}

/** Twilio's media stream for `callSid`, started with `parameters` (the token among them). */
async function stream(server: TestServer, callSid: string, parameters: Record<string, string>, authToken: string | false = AUTH_TOKEN): Promise<TwilioMediaStream> {
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: authToken || undefined, signWith: authToken }, callSid);
  await call.begin(parameters);
  return call;
}

describe('security: a replayed signed webhook never adds a place nor a second stream', function () {
  this.timeout(15000);
  let server: TestServer;

  afterEach(async () => {
    await server.close();
  });

  it('gives the same token to a repeated webhook while its call waits for the stream, and no second place', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false });
    const callSid = sid('CA');
    const first = await webhook(server, callSid);
    expect(first.streamUrl).to.be.a('string');
    for (let i = 0; i < 4; i++) {
      const again = await webhook(server, callSid);
      expect(again.parameters.callstreamToken, `replay ${i + 1}`).to.equal(first.parameters.callstreamToken);
    }
    expect((await server.stream.status()).reserved).to.equal(1);

    const call = await stream(server, callSid, first.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1 || !call.isOpen, 3000, 'the stream to start');
    expect((await server.stream.status())).to.include({ total: 1, reserved: 1 });

    // Replayed once the stream is live: refused, still one place.
    const late = await webhook(server, callSid);
    expect(late.rejected, late.body).to.equal(true);
    expect(late.streamUrl).to.equal(undefined);
    expect((await server.stream.status()).reserved).to.equal(1);
    call.close();
    await call.closed;
  });

  it('refuses a second media stream for a CallSid whose stream is live (no token needed without an auth token)', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false, twilioAuthToken: undefined });
    server.stream.setTwilioAuthToken('');
    const callSid = sid('CA');
    const first = await stream(server, callSid, {}, false);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the first stream');
    const second = await stream(server, callSid, {}, false);
    const closed = await second.closed;
    expect(closed.code).to.equal(1008);
    expect((await server.stream.status())).to.include({ total: 1, reserved: 1 });
    expect(first.isOpen).to.equal(true);
    first.close();
    await first.closed;
  });

  it('issues a new token for the same CallSid once its stream has ended only to a <Redirect> (in-progress), without REST credentials', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false });
    const callSid = sid('CA');
    const first = await webhook(server, callSid, 'ringing');
    const call = await stream(server, callSid, first.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the stream');
    call.sendStop();
    await call.closed;
    await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the place given back');
    const again = await webhook(server, callSid, 'in-progress');
    expect(again.streamUrl, again.body).to.be.a('string');
    expect(again.parameters.callstreamToken).to.not.equal(first.parameters.callstreamToken);
    const redirected = await stream(server, callSid, again.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the redirected stream');
    redirected.sendStop();
    await redirected.closed;
  });

  it('refuses a webhook replayed after its call ended: <Hangup/>, no token, no place', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false });
    const callSid = sid('CA');
    const first = await webhook(server, callSid, 'ringing');
    const call = await stream(server, callSid, first.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the stream');
    call.sendStop();
    await call.closed;
    await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the place given back');
    for (const callStatus of ['ringing', undefined, 'completed', 'queued']) {
      expectHungUp(await webhook(server, callSid, callStatus), `replayed with CallStatus ${callStatus}`);
      expect((await server.stream.status()).reserved, 'no place taken').to.equal(0);
    }
    expect(await server.stream.metrics.refusedCount('ended')).to.equal(4);
    // Its old token is spent: the replay cannot reach a stream that way either.
    const late = await stream(server, callSid, first.parameters);
    expect((await late.closed).code).to.equal(1008);
    expect((await server.stream.status()).total).to.equal(0);
  });

  it('refuses the webhook of a call that never connected its stream, once its token lapsed', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false, telephone: { connectTimeoutMs: 300 } });
    const callSid = sid('CA');
    expect((await webhook(server, callSid, 'ringing')).streamUrl).to.be.a('string');
    await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the unused token and place lapsed');
    expectHungUp(await webhook(server, callSid, 'ringing'), 'replayed after its token lapsed');
  });

  describe('with Twilio REST credentials (the fake Twilio API): a redirect is confirmed over REST', () => {
    let api: FakeTwilioApi;

    beforeEach(async () => {
      api = await FakeTwilioApi.start();
      server = await startTestServer(new EchoHandler(), { ...api.streamOptions(), concurrencyLimit: 3, rateLimit: false });
      api.calls.reach(PUBLIC_URL, { baseUrl: server.url });
    });

    afterEach(async () => {
      await api.close();
    });

    /** What Twilio posts to the webhook for the outbound call `callSid` (an answered call: in-progress). */
    const outboundWebhook = (callSid: string) =>
      postWebhook({
        baseUrl: server.url,
        publicUrl: PUBLIC_URL,
        authToken: api.authToken,
        params: { AccountSid: api.accountSid, ApiVersion: '2010-04-01', CallSid: callSid, CallStatus: 'in-progress', Called: '+15550002222', Caller: '+15550001111', Direction: 'outbound-api', From: '+15550001111', To: '+15550002222' },
      });

    it("serves a <Redirect> of a stream.call() call Twilio says is in progress, and refuses its webhook replayed once Twilio says it is over", async () => {
      const placed = await server.stream.call({ to: '+15550002222', from: '+15550001111' });
      const callee = await api.calls.next();
      const media = await callee.answer();
      const session = await placed.session;
      // Replayed during the call: refused, the stream stays.
      expect((await outboundWebhook(callee.sid)).rejected).to.equal(true);
      // The handler's session ends; Twilio's call goes on (it runs more TwiML), then redirects back to the webhook.
      await server.stream.endSession(session.id);
      await media.closed;
      await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the place given back');
      const fetchesBefore = api.requestsTo('GET', `/Calls/${callee.sid}.json`).length;
      const redirect = await outboundWebhook(callee.sid);
      expect(redirect.streamUrl, redirect.body).to.be.a('string');
      expect(api.requestsTo('GET', `/Calls/${callee.sid}.json`).length, 'one REST fetch confirmed it').to.equal(fetchesBefore + 1);
      const again = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: api.authToken }, callee.sid);
      await again.begin(redirect.parameters);
      await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the redirected stream');
      again.sendStop();
      await again.closed;

      await callee.hangUp(); // completed, told by a status callback
      await placed.ended;
      expect(callee.status).to.equal('completed');
      expectHungUp(await outboundWebhook(callee.sid), 'replayed after the call was completed');
      expect((await server.stream.status()).reserved).to.equal(0);
    });

    it('refuses an in-progress replay of a call Twilio does not know (REST 404)', async () => {
      const callSid = sid('CA');
      const first = await webhook(server, callSid, 'ringing', api.authToken);
      const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: api.authToken }, callSid);
      await call.begin(first.parameters);
      await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the stream');
      call.sendStop();
      await call.closed;
      await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the place given back');
      expectHungUp(await webhook(server, callSid, 'in-progress', api.authToken), 'an in-progress replay Twilio cannot confirm');
      expect(api.requestsTo('GET', `/Calls/${callSid}.json`)).to.have.length(1);
    });

    it(`refuses an in-progress webhook when Twilio's API does not answer within ${LIVENESS_CHECK_TIMEOUT_MS} ms`, async () => {
      const placed = await server.stream.call({ to: '+15550002222', from: '+15550001111' });
      const callee = await api.calls.next();
      const media = await callee.answer();
      await server.stream.endSession((await placed.session).id);
      await media.closed;
      let release!: () => void;
      api.replyGate = new Promise((resolve) => (release = resolve));
      try {
        expectHungUp(await outboundWebhook(callee.sid), 'a redirect Twilio does not confirm in time');
      } finally {
        api.replyGate = undefined;
        release();
      }
      expect(callee.status, 'Twilio still has the call in progress').to.equal('in-progress');
    });
  });

  describe('remembered from the end of the call, not only from its webhook', () => {
    /** A Stream whose coordination's hub runs on a manual clock (the Stream itself on real time). */
    async function withHubClock(clock: ManualClock): Promise<TestServer> {
      const coordination = new MemoryCoordination({ hub: new MemoryHub(clock) });
      return startTestServer(new EchoHandler(), { rateLimit: false, cluster: { coordination } });
    }

    it('keeps refusing a replay for an hour after a call that lasted longer than that', async () => {
      const clock = new ManualClock(1_000_000);
      server = await withHubClock(clock);
      const callSid = sid('CA');
      const first = await webhook(server, callSid, 'ringing');
      const call = await stream(server, callSid, first.parameters);
      await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the stream');
      clock.advance(server.stream.options.telephone.connectTimeoutMs + CALL_MEMORY_MS); // a long call
      call.sendStop();
      await call.closed;
      await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'the place given back');
      clock.advance(60_000);
      expectHungUp(await webhook(server, callSid, 'ringing'), 'replayed a minute after a long call');
    });

    it("remembers a call Twilio's status callback says is completed, from then", async () => {
      const clock = new ManualClock(1_000_000);
      server = await withHubClock(clock);
      const callSid = sid('CA');
      expect((await webhook(server, callSid, 'ringing')).streamUrl).to.be.a('string'); // its stream never comes
      clock.advance(CALL_MEMORY_MS);
      const callback = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, webhookPath: '/telephone/status', params: { CallSid: callSid, CallStatus: 'completed', CallDuration: '3600' } });
      expect(callback.status).to.equal(204);
      clock.advance(server.stream.options.telephone.connectTimeoutMs + 60_000);
      expectHungUp(await webhook(server, callSid, 'ringing'), 'replayed a minute after the completed callback');
    });
  });
});

describe('security: a webhook replayed after its call, in a cluster (two instances on one redis-server)', function () {
  this.timeout(15000);
  let redis: RedisServer;
  let cluster: TestCluster | undefined;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis.stop();
  });

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('knows on the other instance that a call ended: its replay is refused there, its redirect served', async () => {
    cluster = await startCluster(() => new EchoHandler(), { kind: 'redis', url: redis.url }, { options: { rateLimit: false } });
    const [a, b] = cluster.instances as [TestServer, TestServer];
    const callSid = sid('CA');
    const first = await webhook(a, callSid, 'ringing');
    const call = await stream(a, callSid, first.parameters);
    await waitUntil(async () => (await a.stream.status()).active.telephone === 1, 3000, 'the stream on A');
    call.sendStop();
    await call.closed;
    await waitUntil(async () => (await b.stream.status()).reserved === 0, 3000, 'the place given back');
    expectHungUp(await webhook(b, callSid, 'ringing'), 'replayed on B');
    expect((await b.stream.status()).reserved).to.equal(0);
    const redirect = await webhook(b, callSid, 'in-progress');
    expect(redirect.streamUrl, redirect.body).to.be.a('string');
  });
});
