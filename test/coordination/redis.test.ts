import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Coordination } from '../../src/coordination/coordination.js';
import { RedisCoordination } from '../../src/coordination/redis.js';
import { CallstreamError } from '../../src/errors.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { Writable } from 'node:stream';
import { freePort } from '../support/child-process.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { sleep } from '../support/wait.js';
import { describeCoordinationContract } from './contract.js';

const TIMING = { leaseMs: 600, renewEveryMs: 150, rememberedCalls: 5 };

/** Instances of one deployment on `server`, under a prefix of their own (tests never see each other's keys). */
async function deployment(server: RedisServer, count: number, timing = TIMING): Promise<{ instances: RedisCoordination[]; cleanup(): Promise<void> }> {
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  const { leaseMs, renewEveryMs, rememberedCalls: rememberedCallsMax } = timing;
  const instances = Array.from({ length: count }, () => new RedisCoordination({ redis: server.url, prefix, leaseMs, renewEveryMs, rememberedCallsMax, logger: silentLogger() }));
  await Promise.all(instances.map((c) => c.start()));
  return { instances, cleanup: async () => void (await Promise.all(instances.map((c) => c.close()))) };
}

async function rejection(promise: Promise<unknown>): Promise<CallstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallstreamError) return error;
    throw error;
  }
  throw new Error('expected a CallstreamError rejection, got a value');
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25); // the poll interval of this condition wait
  }
}

describe('RedisCoordination', () => {
  let server: RedisServer;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  before(async () => {
    server = await startRedisServer();
    process.on('unhandledRejection', onUnhandled);
  });

  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.stop();
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  });

  describeCoordinationContract('redis', (count, timing) => deployment(server, count, timing));

  it('says clearly, and soon, when Redis cannot be reached at start (without its password)', async () => {
    const port = await freePort();
    const coordination = new RedisCoordination({ redis: `redis://:hunter2@127.0.0.1:${port}`, connectTimeoutMs: 1000, logger: silentLogger() });
    const started = performance.now();
    const error = await rejection(coordination.start());
    expect(performance.now() - started).to.be.below(1500);
    expect(error.code).to.equal('COORDINATION_UNAVAILABLE');
    expect(error.message).to.contain(`127.0.0.1:${port}`);
    expect(error.message).to.not.contain('hunter2');
    expect(coordination.healthy).to.equal(false);
    await coordination.close();
  });

  it('works from an ioredis client it is given, which stays the caller\'s', async () => {
    const client = new Redis(server.url, { lazyConnect: true });
    const [a, b] = [client, client].map((redis) => new RedisCoordination({ redis, prefix: 'client-test:', logger: silentLogger() }));
    try {
      await Promise.all([a!.start(), b!.start()]);
      expect(await a!.acquirePlace('websocket', 1)).to.not.equal(undefined);
      expect(await b!.acquirePlace('websocket', 1)).to.equal(undefined);
    } finally {
      await a!.close();
      await b!.close();
    }
    expect(client.status).to.equal('wait'); // never connected, never closed by them
    client.disconnect();
  });

  it('refuses cleanly while Redis is away and needs no restart once it is back', async function () {
    this.timeout(15_000);
    const own = await startRedisServer();
    const { instances, cleanup } = await deployment(own, 2);
    const [a, b] = instances as [RedisCoordination, RedisCoordination];
    try {
      a.onMessage(() => 'from a');
      const held = await a.acquirePlace('webrtc', 10);
      await b.acquirePlace('websocket', 10);
      const { token } = (await b.announceCall({ callSid: 'CA70', call: { callSid: 'CA70', params: {} }, parameters: {} }, 10, 5000)) as { token: string };
      expect((await a.takeCall(token, 'CA70')).kind).to.equal('taken');
      await a.claim('session-x');

      await own.stop();
      await eventually(() => !a.healthy && !b.healthy, 2000, 'both unhealthy');
      for (const attempt of [
        a.acquirePlace('telephone', 10),
        b.counts(),
        b.announceCall({ call: { params: {} }, parameters: {} }, 10, 5000),
        b.claim('session-y'),
        b.ask('session-x', { type: 'outputs' }),
        b.rateBucket('ip', { limit: 5, windowMs: 1000 }).hit('203.0.113.9'),
      ]) {
        const started = performance.now();
        expect((await rejection(attempt)).code).to.equal('COORDINATION_UNAVAILABLE');
        expect(performance.now() - started).to.be.below(500);
      }
      expect(await a.ask('session-x', { type: 'outputs' })).to.deep.equal({ kind: 'replied', value: 'from a' }); // held here: no Redis needed
      b.publish('calls', { type: 'ignored' });
      held?.release(); // lapses with the lease; must not throw
      await sleep(TIMING.renewEveryMs * 2); // kept: renewals fail meanwhile, quietly (real time must pass)

      await own.restart(); // empty, as a restarted Redis without persistence
      await eventually(() => a.healthy && b.healthy, 5000, 'both healthy again');
      await eventually(async () => (await b.counts()).total === 2, 2000, 'the held places back');
      expect((await b.counts()).byTransport).to.deep.equal({ telephone: 1, webrtc: 0, websocket: 1 });
      expect(await b.claim('session-x')).to.equal(undefined);
      expect(await b.ask('session-x', { type: 'outputs' })).to.deep.equal({ kind: 'replied', value: 'from a' });
      expect(await b.announceCall({ callSid: 'CA70', call: { callSid: 'CA70', params: {} }, parameters: {} }, 10, 5000)).to.deep.equal({ kind: 'live' });
      expect(await b.acquirePlace('telephone', 10)).to.not.equal(undefined);
    } finally {
      await cleanup();
      await own.stop();
    }
  });

  it('closes at once when Redis is gone (what it held lapses with the leases)', async () => {
    const own = await startRedisServer();
    const { instances, cleanup } = await deployment(own, 1);
    try {
      await instances[0]!.acquirePlace('websocket', 5);
      await instances[0]!.claim('session-z');
      await own.kill();
      const started = performance.now();
      await instances[0]!.close();
      expect(performance.now() - started).to.be.below(500);
    } finally {
      await cleanup();
      await own.stop();
    }
  });

  it('says each outage once: one warning, then one info line when it ends', async function () {
    this.timeout(30_000);
    const lines: { level: number; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as { level: number; msg: string });
        done();
      },
    });
    const own = await startRedisServer();
    const coordination = new RedisCoordination({ redis: own.url, logger: createLogger({ level: 'debug', destination }) });
    const said = () => lines.filter((line) => line.level >= 30).map((line) => `${line.level} ${line.msg.split(':')[0]}`);
    try {
      await coordination.start();
      await coordination.acquirePlace('websocket', 5);
      for (let outage = 1; outage <= 2; outage++) {
        await own.stop();
        await eventually(() => !coordination.healthy, 2000, 'unhealthy');
        for (let i = 0; i < 5; i++) await rejection(coordination.acquirePlace('websocket', 5));
        await own.restart();
        await eventually(() => coordination.healthy, 10_000, 'healthy again');
        await eventually(() => said().length === 2 * outage, 5000, `the info line of outage ${outage}`);
      }
      expect(said()).to.deep.equal(['40 Redis unavailable', '30 Redis answers again', '40 Redis unavailable', '30 Redis answers again']);
    } finally {
      await coordination.close();
      await own.stop();
    }
  });

  it('refuses with COORDINATION_UNAVAILABLE before start and after close', async () => {
    const coordination: Coordination = new RedisCoordination({ redis: server.url, logger: silentLogger() });
    expect((await rejection(coordination.acquirePlace('webrtc', 1))).code).to.equal('COORDINATION_UNAVAILABLE');
    await coordination.start();
    await coordination.close();
    expect((await rejection(coordination.counts())).code).to.equal('COORDINATION_UNAVAILABLE');
    await coordination.close();
  });
});
