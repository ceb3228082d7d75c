import { expect } from 'chai';
import { MediaStreamTrack, RTCPeerConnection, useOPUS } from 'werift';
import { EchoHandler } from '../../handlers/index.js';
import { AdditionalOutputs } from '../../src/session/emit.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import type { CallStatusEvent } from '../../src/session/types.js';
import { RemoteSession } from '../../src/coordination/remote-session.js';
import { type ClusterKind, startCluster, type TestCluster } from '../support/cluster.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { rejection } from '../support/rejection.js';
import { AUTH_TOKEN, PUBLIC_URL, type TestServer } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';
import { MINIMAL_OFFER_SDP } from '../support/sdp.js';

const MULAW_8K = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 };

/** Echoes, tells status events to the test, emits an output per DTMF digit. */
function recordingHandler(calls: CallStatusEvent[]): StreamHandler {
  return {
    inputFormat: 'native',
    outputFormat: 'native',
    startUp(ctx: SessionContext) {
      ctx.on('callStatus', (event) => calls.push(event));
      ctx.on('dtmf', (digit) => ctx.send(new AdditionalOutputs(`digit ${digit}`)));
    },
    receive: (frame, ctx) => ctx.send(frame),
    copy() {
      return recordingHandler(calls);
    },
  };
}

/** The session a server opens next. */
const nextSession = (server: TestServer) => new Promise<Session>((resolve) => server.stream.once('session', resolve));

function webhook(server: TestServer, callSid: string, params: Record<string, string> = {}) {
  return postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550001111', ...params } });
}

function statusCallback(server: TestServer, params: Record<string, string>) {
  return postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, webhookPath: '/telephone/status', authToken: AUTH_TOKEN, params });
}

/** A media stream opened on `server` for `callSid`, started with the webhook's parameters. */
async function mediaStream(server: TestServer, callSid: string, parameters: Record<string, string>): Promise<TwilioMediaStream> {
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`, authToken: AUTH_TOKEN }, callSid);
  await call.begin(parameters);
  return call;
}

/**
 * A browser that trickles: its offer and the server's answer both lose their candidates, so the
 * connection can only form if the candidates it posts reach the server's peer.
 */
async function tricklingPeer(): Promise<{ pc: RTCPeerConnection; offer: string; candidates: Record<string, unknown>[] }> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', codecs: { audio: [useOPUS()], video: [] }, iceUseIpv6: false });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  const mid = /^a=mid:(\S+)/m.exec(sdp)![1]!;
  const candidates = [...sdp.matchAll(/^a=(candidate:[^\r\n]+)/gm)].map((m) => ({ candidate: m[1], sdpMid: mid, sdpMLineIndex: 0 }));
  expect(candidates.length).to.be.above(0);
  return { pc, offer: withoutCandidates(sdp), candidates };
}

function withoutCandidates(sdp: string): string {
  return sdp.split('\r\n').filter((line) => !line.startsWith('a=candidate') && line !== 'a=end-of-candidates').join('\r\n');
}

async function postOffer(server: TestServer, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

async function echoes(call: TwilioMediaStream): Promise<void> {
  const frame = Buffer.alloc(160, 0x42);
  for (let i = 0; i < 5; i++) call.sendMedia(frame);
  await call.waitFor(() => call.receivedAudio().length >= 800, 5000, 'the echo');
}

for (const backend of ['memory', 'redis'] as const) {
  describe(`cluster (${backend}): what lands on one instance reaches the session on another`, function () {
    this.timeout(30000);
    let redis: RedisServer | undefined;
    let cluster: TestCluster | undefined;
    let kind: ClusterKind;

    before(async () => {
      if (backend === 'redis') {
        redis = await startRedisServer();
        kind = { kind: 'redis', url: redis.url };
      } else {
        kind = { kind: 'memory' };
      }
    });

    after(async () => {
      await redis?.stop();
    });

    afterEach(async () => {
      await cluster?.close();
      cluster = undefined;
    });

    it('serves a phone call whose webhook, media stream and status callbacks land on different instances; its token works once, deployment-wide', async () => {
      const calls: CallStatusEvent[] = [];
      cluster = await startCluster(() => recordingHandler(calls), kind, { instances: 3, options: { rateLimit: false } });
      const [a, b, c] = cluster.instances as [TestServer, TestServer, TestServer];
      const callSid = sid('CA');
      const hook = await webhook(a, callSid);
      expect(hook.streamUrl, hook.body).to.be.a('string');
      const opened = nextSession(b);
      const call = await mediaStream(b, callSid, hook.parameters);
      const session = await opened;
      await echoes(call);
      expect(session.facts).to.include({ callSid, from: '+15550001111' });

      // The same token again, on any instance: refused.
      for (const server of [a, b, c]) {
        const replay = await mediaStream(server, callSid, hook.parameters);
        expect((await replay.closed).code, 'a used token').to.equal(1008);
      }
      // A replayed webhook while the stream is live: refused, no new place.
      expect((await webhook(c, callSid)).rejected).to.equal(true);
      expect((await a.stream.status()).reserved).to.equal(1);

      // Status callbacks on the third instance reach the handler on the second; completed ends the session.
      expect((await statusCallback(c, { CallSid: callSid, CallStatus: 'in-progress', SequenceNumber: '1' })).status).to.equal(204);
      await waitUntil(() => calls.length === 1, 3000, 'the status to reach the handler');
      expect(calls[0]!.status).to.equal('in-progress');
      expect((await statusCallback(a, { CallSid: callSid, CallStatus: 'completed', CallDuration: '3', SequenceNumber: '2' })).status).to.equal(204);
      expect((await session.ended).reason).to.equal('remote_stop');
      expect((await call.closed).code).to.equal(1000);
      await waitUntil(async () => (await c.stream.status()).reserved === 0, 3000, 'the place given back');
    });

    it('holds one concurrency limit for the whole cluster and every transport', async () => {
      cluster = await startCluster(() => new EchoHandler(), kind, { instances: 2, options: { rateLimit: false, concurrencyLimit: 2 } });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      const program = new AudioSocket(a.url);
      expect((await program.start('first', { mediaFormat: MULAW_8K })).event).to.equal('started');
      const callSid = sid('CA');
      const hook = await webhook(b, callSid);
      expect(hook.streamUrl).to.be.a('string');
      // Both places are taken (a live session on A, an announced call on B).
      const refusedHook = await webhook(a, sid('CA'));
      expect(refusedHook.body).to.contain('<Reject reason="busy"/>');
      const refusedProgram = new AudioSocket(b.url);
      const answer = await refusedProgram.start('second', { mediaFormat: MULAW_8K });
      expect(answer).to.deep.include({ status: 'failed', meta: { error: 'concurrency_limit_reached', limit: 2 } });
      const offer = await fetch(`${a.url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', webrtc_id: 'third', sdp: MINIMAL_OFFER_SDP }) });
      expect(await offer.json()).to.deep.equal({ status: 'failed', meta: { error: 'concurrency_limit_reached', limit: 2 } });
      const status = await b.stream.status();
      expect(status).to.include({ reserved: 2, total: 0 });
      expect(status.reservedByTransport).to.deep.equal({ telephone: 1, webrtc: 0, websocket: 1 });
      expect((await a.stream.status()).active.websocket).to.equal(1);
      // The place comes back deployment-wide when the session ends.
      program.close();
      await waitUntil(async () => (await b.stream.status()).reserved === 1, 3000, 'the place given back');
      const again = new AudioSocket(b.url);
      expect((await again.start('third', { mediaFormat: MULAW_8K })).event).to.equal('started');
      again.close();
    });

    it('reaches a session on another instance: input hook, outputs (SSE), setInput, latestOutput, endSession', async () => {
      cluster = await startCluster(() => recordingHandler([]), kind, {
        instances: 2,
        options: { rateLimit: false, additionalInputs: [{ name: 'name', type: 'text', default: 'nobody' }] },
      });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      const program = new AudioSocket(a.url);
      const started = await program.start('far-away', { mediaFormat: MULAW_8K });
      const { secret } = started.session as { id: string; secret: string };
      const session = a.stream.getSession('far-away')!;

      // POST /input_hook on B: checked where the session lives.
      const post = (body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${b.url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
      expect((await post({ webrtc_id: 'far-away', name: 'Ada' })).status, 'no secret').to.equal(403);
      expect((await post({ webrtc_id: 'nobody', name: 'Ada' }, { 'X-Callstream-Secret': secret })).status, 'unknown id: answered as a wrong secret').to.equal(403);
      const bad = await post({ webrtc_id: 'far-away', name: 7 }, { 'X-Callstream-Secret': secret });
      expect(bad.status).to.equal(422);
      const good = await post({ webrtc_id: 'far-away', name: 'Ada' }, { 'X-Callstream-Secret': secret });
      expect(good.status).to.equal(200);
      expect(session.inputs.name).to.equal('Ada');
      expect(await b.stream.setInput('far-away', { name: 'Grace' })).to.deep.include({ name: 'Grace' });
      expect(session.inputs.name).to.equal('Grace');
      expect((await rejection(b.stream.setInput('far-away', { name: 3 }))).code).to.equal('BAD_REQUEST');

      // GET /outputs on B: outputs emitted on A arrive, then the end.
      expect((await fetch(`${b.url}/outputs?webrtc_id=far-away&secret=wrong`)).status).to.equal(403);
      program.send({ event: 'dtmf', dtmf: { digit: '1' } });
      await waitUntil(async () => (await b.stream.latestOutput('far-away')) !== undefined, 3000, 'the first output');
      const reader = new EventReader(`${b.url}/outputs?webrtc_id=far-away&secret=${secret}`);
      await reader.until(() => reader.events.length >= 1, 3000);
      program.send({ event: 'dtmf', dtmf: { digit: '2' } });
      await reader.until(() => reader.events.length >= 2, 3000);
      expect(reader.events.map((e) => (e.data as { values: unknown[] }).values)).to.deep.equal([['digit 1'], ['digit 2']]);
      expect((await b.stream.latestOutput('far-away'))?.values).to.deep.equal(['digit 2']);

      // Ended from B.
      await b.stream.endSession('far-away', 'Time is up.');
      expect((await session.ended).reason).to.equal('ended_by_server');
      await reader.until(() => reader.events.some((e) => e.event === 'end'), 3000);
      expect((await rejection(b.stream.endSession('far-away'))).code).to.equal('NOT_FOUND');
      reader.close();
    });

    it('gives a browser peer its trickled candidates posted to another instance, before and after its offer', async () => {
      cluster = await startCluster(() => new EchoHandler(), kind, { instances: 2, options: { rateLimit: false, webrtc: { connectTimeoutMs: 5000 } } });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      for (const when of ['before', 'after'] as const) {
        const id = `trickle-${when}`;
        const peer = await tricklingPeer();
        const trickle = async () => {
          for (const candidate of peer.candidates) {
            expect(await postOffer(b, { type: 'ice-candidate', webrtc_id: id, candidate })).to.deep.equal({ status: 'success' });
          }
        };
        if (when === 'before') await trickle();
        const answer = await postOffer(a, { type: 'offer', webrtc_id: id, sdp: peer.offer });
        expect(answer.type, JSON.stringify(answer).slice(0, 200)).to.equal('answer');
        if (when === 'after') await trickle();
        await peer.pc.setRemoteDescription({ type: 'answer', sdp: withoutCandidates(answer.sdp as string) });
        await peer.pc.connectionStateChange.watch((state) => state === 'connected', 8000);
        await waitUntil(() => a.stream.getSession(id)?.isLive === true, 3000, `the session (${when})`);
        await peer.pc.close();
      }
    });

    it('keeps one id per session across instances', async () => {
      cluster = await startCluster(() => new EchoHandler(), kind, { instances: 2, options: { rateLimit: false } });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      const first = new AudioSocket(a.url);
      expect((await first.start('only-once', { mediaFormat: MULAW_8K })).event).to.equal('started');
      const second = new AudioSocket(b.url);
      const answer = await second.start('only-once', { mediaFormat: MULAW_8K });
      expect(answer.type).to.equal('error');
      expect((await second.closed).code).to.equal(1008);
      first.close();
      await first.closed;
      await waitUntil(async () => (await b.stream.status()).reserved === 0, 3000, 'the id given back');
      const third = new AudioSocket(b.url);
      expect((await third.start('only-once', { mediaFormat: MULAW_8K })).event).to.equal('started');
      third.close();
    });

    it('shares per-IP rate limits: two instances do not double the allowance', async () => {
      cluster = await startCluster(() => new EchoHandler(), kind, { instances: 2, options: { rateLimit: { offers: { limit: 3, windowMs: 60_000 } } } });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      const statuses: number[] = [];
      for (const server of [a, b, a, b, a, b]) {
        const response = await fetch(`${server.url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'offer', webrtc_id: 'x', sdp: 'bogus' }) });
        statuses.push(response.status);
      }
      expect(statuses).to.deep.equal([400, 400, 400, 429, 429, 429]);
    });

    it('reports the cluster and this instance in /status; /health turns 503 while an instance drains', async () => {
      cluster = await startCluster(() => new EchoHandler(), kind, { instances: 2, options: { rateLimit: false } });
      const [a, b] = cluster.instances as [TestServer, TestServer];
      const program = new AudioSocket(a.url);
      await program.start('counted', { mediaFormat: MULAW_8K });
      const fromB = (await (await fetch(`${b.url}/status`)).json()) as Record<string, unknown>;
      expect(fromB).to.deep.include({ total: 0, reserved: 1, instanceId: 'instance-1', accepting: true });
      expect(fromB.coordination).to.deep.equal({ kind: backend, healthy: true });
      expect((await fetch(`${a.url}/health`)).status).to.equal(200);
      const draining = a.stream.shutdown(2000);
      const health = await fetch(`${a.url}/health`);
      expect(health.status).to.equal(503);
      expect(await health.json()).to.deep.include({ status: 'draining', instanceId: 'instance-0' });
      expect((await fetch(`${b.url}/health`)).status).to.equal(200);
      program.close();
      await draining;
      // A clean shutdown gives its places back at once.
      expect((await b.stream.status()).reserved).to.equal(0);
    });
  });
}

describe('cluster (redis): an outbound call placed on one instance, answered on another', function () {
  this.timeout(30000);
  let redis: RedisServer;
  let api: FakeTwilioApi;
  let cluster: TestCluster | undefined;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
  });

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
    await api.close();
  });

  it('resolves stream.call() with a RemoteSession when the media lands elsewhere; it hangs up and ends from afar', async () => {
    cluster = await startCluster(() => new EchoHandler(), { kind: 'redis', url: redis.url }, { instances: 2, options: { ...api.streamOptions(), rateLimit: false } });
    const [a, b] = cluster.instances as [TestServer, TestServer];
    // Twilio reaches the public URL at B: webhook, media stream and status callbacks all land there.
    api.calls.reach(PUBLIC_URL, { baseUrl: b.url });
    const call = await a.stream.call({ to: '+15550002222', from: '+15550001111' });
    const statuses: string[] = [];
    call.on('status', (event) => statuses.push(event.status));
    const callee = await api.calls.next();
    const media = await callee.answer();
    const session = (await call.session) as RemoteSession;
    expect(session).to.be.instanceOf(RemoteSession);
    expect(session.instanceId).to.equal('instance-1');
    expect(session.facts).to.include({ callSid: call.sid, direction: 'outbound-api' });
    expect(b.stream.getSession(session.id), 'the session lives on B').to.not.equal(undefined);
    await call.answered;
    await echoes(media);

    await session.hangUp();
    expect(callee.updates.map((u) => u.form)).to.deep.equal([{ Status: 'completed' }]);
    expect((await session.ended).reason).to.equal('hangup');
    const end = await call.ended;
    expect(end.status).to.equal('completed');
    expect(end.error).to.equal(undefined);
    expect(statuses).to.include('in-progress');
  });
});
