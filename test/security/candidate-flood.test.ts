/**
 * Early ICE candidates (`POST /webrtc/offer` `{type: "ice-candidate"}` for an id with no peer yet) are
 * kept for the offer to come: the flood of issue 22 (item 2) sent 60 KB candidates for unused ids and
 * grew the server by 1.5 GB, Redis by 900 MB. Here the same flood meets the server in a child process
 * (its memory read after a GC) and a real redis-server. This file takes about 20 s (a minute on code
 * without the bounds): 6,000 posts of 60 KB go through real sockets.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { EchoHandler } from '../../handlers/index.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { type MemoryServer, startMemoryServer } from '../support/memory-probe.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { TestPeer } from '../support/webrtc-peer.js';

const counts = tally('candidate flood');
/** The bounds under test (src/transports/webrtc/candidates.ts), as documented in docs/security.md. */
const MAX_CANDIDATE_CHARS = 1024;
const CANDIDATES_PER_ID = 32;
const POSTS = 3000;
const IDS = 2000;
const PAD = 'x'.repeat(60_000);
const LINE = 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host';

/**
 * Post `i` of the flood, 60 KB each, from an address of its own (a spread-out attacker: per-IP limits
 * do not stop it), for one of IDS ids: a 60 KB candidate line (the issue's), 60 KB in fields a
 * candidate does not have, or the largest candidate taken plus 60 KB of such fields.
 */
function floodPost(i: number): { body: string; from: string } {
  const id = `flood-${i % IDS}`;
  const kind = i % 3;
  const candidate =
    kind === 0
      ? { candidate: `candidate:${PAD}`, sdpMid: '0' }
      : kind === 1
        ? { candidate: LINE, sdpMid: '0', sdpMLineIndex: 0, padding: PAD }
        : { candidate: `${LINE} ${'a'.repeat(MAX_CANDIDATE_CHARS - LINE.length - 1)}`, sdpMid: 'm'.repeat(200), usernameFragment: 'u'.repeat(200), padding: PAD };
  return { body: JSON.stringify({ type: 'ice-candidate', webrtc_id: id, candidate }), from: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
}

/** Sends the flood, 16 posts in flight; resolves with the count of each HTTP status. */
async function flood(url: string, posts = POSTS): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < posts) {
        const { body, from } = floodPost(next++);
        const response = await fetch(`${url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': from }, body });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

const mb = (bytes: number) => bytes / 2 ** 20;

/** A logger that keeps its JSON lines in memory. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

const post = (url: string, body: unknown, from?: string) =>
  fetch(`${url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(from ? { 'X-Forwarded-For': from } : {}) }, body: JSON.stringify(body) });

describe('security: early ICE candidates are kept within bounds', function () {
  this.timeout(60_000);
  reportAfter('candidate flood', counts);

  describe('one instance (the server in a child process)', () => {
    let server: MemoryServer;

    before(async () => {
      server = await startMemoryServer({}, { proxy: true });
    });

    after(async () => {
      await server?.stop();
    });

    it('3,000 candidate posts of 60 KB for 2,000 ids grow the server by less than 30 MB', async () => {
      await flood(server.url, 30); // every path warm before the baseline
      const before = await server.memory();
      const statuses = await flood(server.url);
      const after = await server.memory();
      const rssMb = mb(after.rss - before.rss);
      const heapMb = mb(after.heapUsed + after.external - before.heapUsed - before.external);
      count(counts, 'candidate posts of 60 KB', POSTS);
      count(counts, `MB of RSS growth (heap + external ${heapMb.toFixed(1)} MB)`, Math.round(rssMb * 10) / 10);
      expect(heapMb, `heap + external growth (statuses ${JSON.stringify(statuses)})`).to.be.below(30);
      expect(rssMb, `RSS growth (statuses ${JSON.stringify(statuses)})`).to.be.below(30);
      expect(Object.keys(statuses).map(Number).every((status) => status === 200 || status === 400 || status === 503), JSON.stringify(statuses)).to.equal(true);
      expect(statuses[400], 'oversized lines refused').to.equal(POSTS / 3);
      expect(statuses[200], 'candidates within bounds kept').to.be.greaterThan(0);
      expect((await fetch(`${server.url}/health`)).status).to.equal(200);
    });
  });

  describe('cluster mode (a real redis-server)', () => {
    let redisServer: RedisServer;
    let redis: Redis;
    let server: TestServer;

    before(async () => {
      redisServer = await startRedisServer();
      redis = new Redis(redisServer.url);
      server = await startTestServer(new EchoHandler(), { cluster: { redis: redisServer.url, prefix: 'flood:' } });
      await server.stream.ready();
      server.app.proxy = true;
    });

    after(async () => {
      await server?.close();
      redis?.disconnect();
      await redisServer?.stop();
    });

    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

    it("3,000 candidate posts of 60 KB grow Redis's memory by less than 10 MB, and what is kept expires", async () => {
      const before = await usedMemory();
      const statuses = await flood(server.url);
      const grownMb = mb((await usedMemory()) - before);
      count(counts, 'MB of Redis growth', Math.round(grownMb * 10) / 10);
      expect(grownMb, `Redis used_memory growth (statuses ${JSON.stringify(statuses)})`).to.be.below(10);
      expect(statuses[400], JSON.stringify(statuses)).to.equal(POSTS / 3);
      const total = Number(await redis.get('flood:kept-total'));
      expect(total, 'the kept bytes the books count').to.be.within(1, 4 * 2 ** 20);
      for (const key of ['flood:kept-index', 'flood:kept-costs', 'flood:kept-total', 'flood:kept:flood-2']) {
        expect(await redis.pttl(key), `${key} expires`).to.be.within(1, 10_000);
      }
    });
  });

  describe('each post', () => {
    let server: TestServer;
    const log = memoryLogger();

    before(async () => {
      // Time stands still for the rate limit (its buckets are on the Stream's clock): no refill mid-test.
      server = await startTestServer(new EchoHandler(), { logger: log.logger, clock: new ManualClock() });
      server.app.proxy = true;
    });

    after(async () => {
      await server.close();
    });

    it(`answers a candidate line over ${MAX_CANDIDATE_CHARS} characters 400 candidate_too_large, and keeps nothing of it`, async () => {
      const response = await post(server.url, { type: 'ice-candidate', webrtc_id: 'long-line', candidate: { candidate: `candidate:${'9'.repeat(MAX_CANDIDATE_CHARS)}` } }, '192.0.2.1');
      expect(response.status).to.equal(400);
      expect(await response.json()).to.deep.equal({ status: 'failed', meta: { error: 'candidate_too_large', limit: MAX_CANDIDATE_CHARS } });
      expect(await server.stream.coordination.claim('long-line')).to.deep.equal([]);
    });

    it('keeps only the fields of a candidate, and at most 32 for one id', async () => {
      const candidate = { candidate: LINE, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd', extra: 'not kept' };
      for (let i = 0; i < CANDIDATES_PER_ID; i++) expect(await (await post(server.url, { type: 'ice-candidate', webrtc_id: 'chatty', candidate }, '192.0.2.2')).json()).to.deep.equal({ status: 'success' });
      const over = await post(server.url, { type: 'ice-candidate', webrtc_id: 'chatty', candidate }, '192.0.2.2');
      expect(await over.json()).to.deep.equal({ status: 'failed', meta: { error: 'too_many_candidates', limit: CANDIDATES_PER_ID } });
      const kept = (await server.stream.coordination.claim('chatty')) as { candidate: unknown }[];
      expect(kept).to.have.length(CANDIDATES_PER_ID);
      const { extra: _dropped, ...fields } = candidate;
      expect(kept[0]).to.deep.equal({ type: 'candidate', candidate: fields });
      server.stream.coordination.unclaim('chatty');
    });

    it('gives a live peer at most 32 remote candidates', async () => {
      const peer = new TestPeer(server.url, 'live-peer');
      try {
        await peer.connect();
        const candidate = { candidate: 'candidate:2 1 udp 2130706431 192.0.2.9 40000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
        const answers: string[] = [];
        for (let i = 0; i < CANDIDATES_PER_ID + 3; i++) {
          const answer = (await (await post(server.url, { type: 'ice-candidate', webrtc_id: 'live-peer', candidate }, '192.0.2.3')).json()) as { status: string; meta?: { error: string } };
          answers.push(answer.meta?.error ?? answer.status);
        }
        expect(answers.filter((a) => a === 'too_many_candidates').length, answers.join(' ')).to.equal(3);
      } finally {
        await peer.close();
      }
    });

    it('counts candidate posts against a per-address budget (200 a minute): 429 past it, with one warning', async () => {
      const candidate = { candidate: LINE, sdpMid: '0', sdpMLineIndex: 0 };
      const statuses: number[] = [];
      for (let i = 0; i < 210; i++) statuses.push((await post(server.url, { type: 'ice-candidate', webrtc_id: `budget-${i % 50}`, candidate }, '198.51.100.7')).status);
      expect(statuses.slice(0, 200).every((status) => status === 200), statuses.join(',')).to.equal(true);
      expect(statuses.slice(200)).to.deep.equal(Array(10).fill(429));
      const refused = await post(server.url, { type: 'ice-candidate', webrtc_id: 'budget-0', candidate }, '198.51.100.7');
      expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
      expect(await refused.json()).to.deep.include({ error: 'RATE_LIMITED' });
      // Another address is not affected.
      expect((await post(server.url, { type: 'ice-candidate', webrtc_id: 'budget-0', candidate }, '198.51.100.8')).status).to.equal(200);
      const warnings = log.lines.filter((line) => line.level === 40 && String(line.msg).startsWith('candidates refused'));
      expect(warnings.length, 'warnings, not one per refused post').to.be.within(1, 5);
    });
  });
});
