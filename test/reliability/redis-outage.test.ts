import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import { HealthyCall } from '../support/healthy-call.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';
import { MINIMAL_OFFER_SDP } from '../support/sdp.js';

const MULAW_8K = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 };
/** Rounds of requests on every client route while Redis is away. */
const ROUNDS = 8;

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The Stream's log as parsed JSON lines (pino levels: 30 info, 40 warn, 50 error). */
function capturedLog(): { lines: LogLine[]; destination: Writable } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { lines, destination };
}

/** A route's answer: status and body as text. */
interface Answer {
  status: number;
  body: string;
}

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, body: await response.text() };
}

/** What a WebSocket upgrade to `path` is answered: 101 when it opens, else the HTTP status and body. */
function upgrade(server: TestServer, path: string): Promise<Answer> {
  const ws = new WebSocket(server.url.replace('http', 'ws') + path);
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('error', () => {});
  });
}

/** One request on each client route; resolves with each route's answer, by name. */
async function everyClientRoute(server: TestServer, round: number): Promise<Record<string, Answer>> {
  const json = { 'Content-Type': 'application/json' };
  const offerSdp = MINIMAL_OFFER_SDP;
  const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA'), CallStatus: 'ringing' } });
  return {
    offer: await answer(await fetch(`${server.url}/webrtc/offer`, { method: 'POST', headers: json, body: JSON.stringify({ type: 'offer', webrtc_id: `outage-${round}`, sdp: offerSdp }) })),
    websocket: await upgrade(server, '/websocket/offer'),
    realtime: await upgrade(server, '/v1/realtime'),
    input_hook: await answer(await fetch(`${server.url}/input_hook`, { method: 'POST', headers: json, body: JSON.stringify({ webrtc_id: `elsewhere-${round}`, secret: 'x' }) })),
    outputs: await answer(await fetch(`${server.url}/outputs?webrtc_id=elsewhere-${round}&secret=x`)),
    webhook: { status: hook.status, body: hook.body },
  };
}

describe('reliability: a Redis outage is a 503 for new work, one warning, and no error lines', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let server: TestServer | undefined;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis.stop();
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (!redis.running()) await redis.restart();
  });

  it('answers /status (200, healthy false, deployment figures null) and 503 COORDINATION_UNAVAILABLE on client routes, naming no host; live calls go on', async () => {
    const log = capturedLog();
    const logger = createLogger({ level: 'debug', destination: log.destination });
    server = await startTestServer(new EchoHandler(), { logger, cluster: { redis: redis.url, prefix: `outage-${randomBytes(4).toString('hex')}:` } });
    await server.stream.ready();
    const live = await HealthyCall.dial(server);
    const program = new AudioSocket(server.url);
    expect((await program.start('live-program', { mediaFormat: MULAW_8K })).event).to.equal('started');

    const before = log.lines.length;
    await redis.stop();
    const outage = performance.now();
    await waitUntil(() => !server!.stream.coordination.healthy, 5000, 'the instance to notice');

    const statuses: unknown[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const status = await fetch(`${server.url}/status`);
      expect(status.status, '/status during the outage').to.equal(200);
      statuses.push(await status.json());
      for (const [route, { status: code, body }] of Object.entries(await everyClientRoute(server, round))) {
        expect(code, `${route}: ${body}`).to.equal(503);
        if (route === 'webhook') continue; // Twilio reads no body from a 503 (it tries the fallback URL)
        expect(JSON.parse(body), route).to.deep.equal({
          error: 'COORDINATION_UNAVAILABLE',
          message: 'The service cannot take this request now: its shared state does not answer. Try again shortly.',
        });
      }
    }
    for (const status of statuses) {
      expect(status).to.deep.include({ total: 2, reserved: null, reservedByTransport: null, accepting: false });
      expect(status).to.deep.include({ active: { telephone: 1, webrtc: 0, websocket: 1 }, coordination: { kind: 'redis', healthy: false } });
    }
    await live.expectAlive(outage);
    expect(program.ws.readyState).to.equal(WebSocket.OPEN);

    const during = log.lines.slice(before);
    const serious = during.filter((line) => line.level >= 40);
    expect(serious.map((line) => `${line.level} ${line.msg}`), `${ROUNDS * 7} requests`).to.have.length(1);
    expect(serious[0]!.level).to.equal(40);
    expect(serious[0]!.msg).to.match(/^Redis unavailable/);

    await redis.restart();
    await waitUntil(() => server!.stream.coordination.healthy, 10_000, 'healthy again');
    const back = await (await fetch(`${server.url}/status`)).json();
    expect(back).to.deep.include({ reserved: 2, accepting: true, coordination: { kind: 'redis', healthy: true } });
    const recovered = log.lines.slice(before).filter((line) => line.level === 30 && /answers again/.test(line.msg));
    expect(recovered, 'one info line when Redis is back').to.have.length(1);
    expect(log.lines.slice(before).filter((line) => line.level >= 50), 'no error line at all').to.deep.equal([]);

    // New work is let in again.
    const after = new AudioSocket(server.url);
    expect((await after.start('after-outage', { mediaFormat: MULAW_8K })).event).to.equal('started');
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA'), CallStatus: 'ringing' } });
    expect(hook.streamUrl, hook.body).to.be.a('string');
    await live.expectAlive(outage);
    after.close();
    program.close();
    await live.hangUp();
  });

  it('says a Redis that hangs (connections up, no answers) once too, refuses new work, and says once when it answers again', async () => {
    const log = capturedLog();
    const logger = createLogger({ level: 'debug', destination: log.destination });
    server = await startTestServer(new EchoHandler(), { logger, rateLimit: false, cluster: { redis: redis.url, prefix: `hang-${randomBytes(4).toString('hex')}:` } });
    await server.stream.ready();
    const live = await HealthyCall.dial(server);
    const admin = new Redis(redis.url);
    try {
      const before = log.lines.length;
      // Every client's commands wait, ours time out (2 s): the connections stay up, `healthy` stays true.
      await admin.call('CLIENT', 'PAUSE', '6000', 'ALL');
      const hung = performance.now();
      const webhooks = Array.from({ length: 3 }, () => postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA'), CallStatus: 'ringing' } }));
      const sockets = Array.from({ length: 3 }, () => new AudioSocket(server!.url)).map(async (socket, i) => {
        const answer = await socket.start(`hung-${i}`, { mediaFormat: MULAW_8K });
        return { answer, closed: await socket.closed };
      });
      const inputs = Array.from({ length: 3 }, (_, i) =>
        fetch(`${server!.url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ webrtc_id: `elsewhere-${i}` }) }).then(answer),
      );
      for (const hook of await Promise.all(webhooks)) expect(hook.status, hook.body).to.equal(503);
      for (const { answer: refusal, closed } of await Promise.all(sockets)) {
        expect(refusal).to.deep.include({ status: 'failed', meta: { error: 'server_unavailable' } });
        expect(closed.code).to.equal(1013);
      }
      for (const input of await Promise.all(inputs)) {
        expect(input.status).to.equal(503);
        expect(JSON.parse(input.body)).to.have.property('error', 'COORDINATION_UNAVAILABLE');
      }
      const serious = log.lines.slice(before).filter((line) => line.level >= 40);
      expect(serious.map((line) => `${line.level} ${line.msg}`), '9 requests while Redis hangs').to.have.length(1);
      expect(serious[0]!.msg).to.match(/^Redis unavailable/);

      await waitUntil(() => log.lines.slice(before).some((line) => line.level === 30 && /answers again/.test(line.msg)), 10_000, 'the info line once Redis answers');
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA'), CallStatus: 'ringing' } });
      expect(hook.streamUrl, hook.body).to.be.a('string');
      expect(log.lines.slice(before).filter((line) => line.level === 30 && /answers again/.test(line.msg))).to.have.length(1);
      expect(log.lines.slice(before).filter((line) => line.level >= 50)).to.deep.equal([]);
      await live.expectAlive(hung);
      await live.hangUp();
    } finally {
      admin.disconnect();
    }
  });
});
