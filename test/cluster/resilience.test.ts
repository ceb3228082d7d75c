import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort, spawnTestProcess, type TestProcess, waitReady } from '../support/child-process.js';
import { HealthyCall } from '../support/healthy-call.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { AUTH_TOKEN, PUBLIC_URL, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';
import { MINIMAL_OFFER_SDP } from '../support/sdp.js';

const MULAW_8K = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 };

async function statusOf(url: string): Promise<{ reserved: number; total: number; accepting: boolean }> {
  return (await (await fetch(`${url}/status`)).json()) as { reserved: number; total: number; accepting: boolean };
}

describe('cluster (redis): behind a balancer, instances killed, Redis restarted', function () {
  this.timeout(60000);
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
    if (!redis.running()) await redis.restart();
  });

  it('serves every signed phone call through a round-robin balancer (webhook and stream on different instances)', async () => {
    cluster = await startCluster(() => new EchoHandler(), { kind: 'redis', url: redis.url }, { instances: 3, balancer: true, options: { rateLimit: false } });
    const servedBy = new Map<TestServer, number>();
    for (const server of cluster.instances) server.stream.on('session', () => servedBy.set(server, (servedBy.get(server) ?? 0) + 1));
    let served = 0;
    for (let i = 0; i < 4; i++) {
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: cluster.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
      expect(hook.streamUrl, hook.body).to.be.a('string');
      const call = new TwilioMediaStream({ baseUrl: cluster.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await call.begin(hook.parameters);
      for (let f = 0; f < 5; f++) call.sendMedia(Buffer.alloc(160, 0x30 + f));
      await call.waitFor(() => call.receivedAudio().length >= 800, 5000, `the echo of call ${i + 1}`);
      served++;
      call.close();
      await call.closed;
    }
    expect(served).to.equal(4);
    expect(servedBy.size, 'sessions spread over the instances').to.be.at.least(2);
  });

  it('gives back the places of an instance killed with SIGKILL within 15 s, and those of a clean shutdown at once', async () => {
    const prefix = `kill-${randomBytes(4).toString('hex')}:`;
    const spawnInstance = async (instanceId: string): Promise<{ proc: TestProcess; url: string }> => {
      const port = await freePort();
      const proc = spawnTestProcess(process.execPath, ['--import', 'tsx', 'test/cluster/fixtures/instance.ts'], {
        env: { ...process.env, REDIS_URL: redis.url, INSTANCE_ID: instanceId, PREFIX: prefix, PORT: String(port) },
      });
      await waitReady(proc, instanceId, async () => proc.output().includes('ready'), 20_000);
      return { proc, url: `http://127.0.0.1:${port}` };
    };
    const [doomed, survivor, clean] = await Promise.all([spawnInstance('doomed'), spawnInstance('survivor'), spawnInstance('clean')]);
    try {
      const sockets: AudioSocket[] = [];
      for (const [i, instance] of [doomed, doomed, clean].entries()) {
        const socket = new AudioSocket(instance.url);
        expect((await socket.start(`held-${i}`, { mediaFormat: MULAW_8K })).event).to.equal('started');
        sockets.push(socket);
      }
      expect((await statusOf(survivor.url)).reserved).to.equal(3);

      const cleanStopped = performance.now();
      await clean.proc.stop('SIGTERM');
      await waitUntil(async () => (await statusOf(survivor.url)).reserved === 2, 3000, 'the clean instance\'s place back');
      const cleanMs = performance.now() - cleanStopped;

      const killed = performance.now();
      await doomed.proc.stop('SIGKILL');
      await waitUntil(async () => (await statusOf(survivor.url)).reserved === 0, 15_000, 'the killed instance\'s places back');
      const recoveredMs = performance.now() - killed;
      // A reader can see how long it took.
      console.log(`      places back: ${Math.round(cleanMs)} ms after a clean shutdown, ${(recoveredMs / 1000).toFixed(1)} s after SIGKILL`);
      expect(cleanMs).to.be.below(1000);
      expect(recoveredMs).to.be.below(15_000);
      for (const socket of sockets) socket.ws.terminate();
    } finally {
      await Promise.all([doomed, survivor, clean].map((instance) => instance.proc.stop('SIGKILL')));
    }
  });

  it('keeps live calls talking while Redis is away, refuses new sessions cleanly and counts them, and comes back on its own', async () => {
    cluster = await startCluster(() => new EchoHandler(), { kind: 'redis', url: redis.url }, { instances: 2, options: { rateLimit: false } });
    const [a, b] = cluster.instances as [TestServer, TestServer];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const live = await HealthyCall.dial(a);
      const program = new AudioSocket(b.url);
      await program.start('live-program', { mediaFormat: MULAW_8K });

      await redis.stop();
      const outage = performance.now();
      await waitUntil(() => !a.stream.coordination.healthy && !b.stream.coordination.healthy, 5000, 'both instances to notice');
      // New sessions: refused cleanly, on every transport.
      const hook = await postWebhook({ baseUrl: a.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
      expect(hook.status, hook.body).to.equal(503);
      const refused = new AudioSocket(b.url);
      expect(await refused.opened.then(() => 'opened', (error: Error) => error.message)).to.equal('upgrade refused: HTTP 503');
      const offer = await fetch(`${a.url}/webrtc/offer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'offer', webrtc_id: 'outage', sdp: MINIMAL_OFFER_SDP }),
      });
      expect(offer.status).to.equal(503);
      const status = await (await fetch(`${a.url}/status`)).json();
      expect(status, '/status answers while Redis is away').to.not.equal(undefined);
      expect(await b.stream.metrics.refusedCount('unavailable')).to.be.at.least(1);
      expect(await a.stream.metrics.refusedCount('unavailable')).to.be.at.least(1);
      // The live call kept its audio through it all.
      await live.expectAlive(outage);
      expect(program.ws.readyState).to.equal(program.ws.OPEN);

      await redis.restart();
      await waitUntil(() => a.stream.coordination.healthy && b.stream.coordination.healthy, 10_000, 'healthy again');
      // What the instances hold came back with the renewals; new sessions are let in again.
      await waitUntil(async () => (await b.stream.status()).reserved === 2, 5000, 'the live places back in Redis');
      const after = new AudioSocket(a.url);
      expect((await after.start('after-outage', { mediaFormat: MULAW_8K })).event).to.equal('started');
      await live.expectAlive(outage);
      after.close();
      program.close();
      await live.hangUp();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
