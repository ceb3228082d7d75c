import net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import twilio from 'twilio';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { ClientFaults } from '../../src/client-faults.js';
import { ManualClock } from '../../src/clock.js';
import { createLogger, urlForLog } from '../../src/logger.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { socketLife } from '../support/socket-life.js';

const counts = tally('log noise');
/** A secret a careless client (or a proxy) puts in the query of a URL it signs wrong. */
const QUERY_SECRET = 'query-secret-5b8e1d0c';
/** How many times each abuse is repeated: a warning each would be this many. */
const REPEATS = 12;
/** What a rate-limited warning may add per kind of abuse while the test runs. */
const MAX_WARNINGS_PER_KIND = 5;

/** Writes `head`, then a byte every 100 ms, until the server closes the connection (or 5 s pass). */
function slowBody(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    const drip = setInterval(() => socket.writable && socket.write(' '), 100);
    const giveUp = setTimeout(() => socket.destroy(), 5000);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (data) => (response += data.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      resolve(response);
    });
  });
}

/** Opens a WebSocket on `path` (signed for Twilio's route) and sends `frame`; resolves with the close code. */
async function sendOnSocket(server: TestServer, path: string, frame: string | Buffer): Promise<number> {
  const headers: Record<string, string> = {};
  if (path.startsWith('/telephone')) headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `wss://voice.example.test${path}`, {});
  const ws = new WebSocket(server.url.replace('http', 'ws') + path, { headers });
  const { opened, closed } = socketLife(ws);
  await opened;
  ws.send(frame);
  return (await closed).code;
}

/** Answers the upgrade status of a media-stream upgrade to `path` (with its query) signed with a guessed token. */
function forgedUpgrade(server: TestServer, path: string): Promise<number> {
  const signature = twilio.getExpectedTwilioSignature('guessed-token', `wss://voice.example.test${path}`, {});
  const ws = new WebSocket(server.url.replace('http', 'ws') + path, { headers: { 'X-Twilio-Signature': signature } });
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => resolve(0));
  });
}

const post = (server: TestServer, path: string, body: string, type = 'application/json') =>
  fetch(server.url + path, { method: 'POST', headers: { 'Content-Type': type }, body }).then((r) => r.status);

function hasStack(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\n    at ');
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(hasStack);
}

describe('security: clients cannot fill the logs', function () {
  this.timeout(30000);
  reportAfter('log noise', counts);

  it('logs client abuses below error, without stacks or query secrets, and warns a bounded number of times', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const server = await startTestServer(
      new EchoHandler(),
      { logger: createLogger({ level: 'debug', destination }), rateLimit: false },
      { serverOptions: { connectionsCheckingInterval: 100, headersTimeout: 500, requestTimeout: 1000 } },
    );
    const statuses: number[] = [];
    try {
      // Bodies cut by the request timeout, in parallel (each takes the whole timeout).
      const heads = ['/webrtc/offer', '/input_hook', '/telephone/incoming'].flatMap((path) =>
        Array.from({ length: 4 }, () => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`),
      );
      const cut = await Promise.all(heads.map((head) => slowBody(server.running.port, head)));
      for (const response of cut) expect(response).to.match(/^HTTP\/1\.1 408/);
      count(counts, 'slow bodies cut', cut.length);

      for (let i = 0; i < REPEATS; i++) {
        // Frames over 64 KiB on both WebSocket routes.
        expect(await sendOnSocket(server, '/telephone/handler', 'x'.repeat(70_000))).to.equal(1009);
        expect(await sendOnSocket(server, '/websocket/offer', 'x'.repeat(70_000))).to.equal(1009);
        // Protocol errors on both.
        expect(await sendOnSocket(server, '/telephone/handler', 'not json')).to.equal(1007);
        expect(await sendOnSocket(server, '/websocket/offer', Buffer.from([1, 2, 3]))).to.equal(1003);
        // Forged signatures, with a secret in the query, on the three Twilio routes.
        const forged = await postWebhook({
          baseUrl: server.url,
          publicUrl: PUBLIC_URL,
          webhookPath: `/telephone/incoming?secret=${QUERY_SECRET}`,
          signWith: 'guessed-token',
          params: { CallSid: sid('CA') },
        });
        statuses.push(forged.status, await forgedUpgrade(server, `/telephone/handler?secret=${QUERY_SECRET}`));
        statuses.push(await post(server, `/telephone/status?secret=${QUERY_SECRET}`, `CallSid=${sid('CA')}&CallStatus=completed`, 'application/x-www-form-urlencoded'));
        // Malformed JSON and bad offers.
        statuses.push(await post(server, '/webrtc/offer', '{"type": "offer",'), await post(server, '/input_hook', '{'));
        statuses.push(await post(server, '/webrtc/offer', JSON.stringify({ type: 'offer', webrtc_id: `bad-${i}`, sdp: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n' })));
        statuses.push(await post(server, '/webrtc/offer', JSON.stringify({ type: 'offer', webrtc_id: `bad-${i}`, sdp: 'not sdp' })));
        count(counts, 'abuses', 11);
      }
    } finally {
      await server.close();
    }
    expect(statuses.every((status) => status >= 400 && status < 500), `statuses ${statuses.join(' ')}`).to.equal(true);

    if (process.env.SHOW_LOG) for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
    count(counts, 'log lines', lines.length);
    const errors = lines.filter((line) => (line.level as number) >= 50);
    expect(errors.map((line) => line.msg), 'error-level entries').to.deep.equal([]);
    const stacks = lines.filter(hasStack);
    expect(stacks.map((line) => line.msg), 'entries with a stack trace').to.deep.equal([]);
    const leaks = lines.filter((line) => JSON.stringify(line).includes(QUERY_SECRET));
    expect(leaks.map((line) => line.msg), 'entries with the query secret').to.deep.equal([]);

    const warnings = new Map<string, number>();
    for (const line of lines) if (line.level === 40) warnings.set(line.msg as string, (warnings.get(line.msg as string) ?? 0) + 1);
    count(counts, 'warnings', [...warnings.values()].reduce((a, b) => a + b, 0));
    for (const [msg, n] of warnings) expect(n, `warnings "${msg}"`).to.be.at.most(MAX_WARNINGS_PER_KIND);
    // The refusals were seen all the same (the first ones as warnings, with their URL less its query).
    const refusals = lines.filter((line) => /X-Twilio-Signature/.test(line.msg as string));
    expect(refusals.length, 'signature refusals logged (at some level)').to.be.at.least(3 * REPEATS);
    expect(refusals.some((line) => line.url === `${PUBLIC_URL}/telephone/incoming`)).to.equal(true);
  });

  it('warns of each kind of client fault a few times per window, then at debug, and says how many it held back', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const log = createLogger({ level: 'debug', destination });
    const clock = new ManualClock();
    const faults = new ClientFaults(clock, { warnings: 2, windowMs: 1000 });
    for (let i = 0; i < 5; i++) faults.warn(log, { n: i }, 'forged');
    faults.warn(log, {}, 'other kind');
    clock.advance(1000);
    faults.warn(log, { n: 5 }, 'forged');
    const forged = lines.filter((line) => line.msg === 'forged');
    expect(forged.map((line) => line.level)).to.deep.equal([40, 40, 20, 20, 20, 40]);
    expect(forged.at(-1)).to.include({ n: 5, heldBack: 3 });
    expect(lines.find((line) => line.msg === 'other kind')).to.include({ level: 40 });
  });

  it('logs URLs without their query string or fragment', () => {
    expect(urlForLog(`https://voice.example.test/telephone/incoming?secret=${QUERY_SECRET}&a=b`)).to.equal('https://voice.example.test/telephone/incoming');
    expect(urlForLog(`/telephone/handler#${QUERY_SECRET}`)).to.equal('/telephone/handler');
    expect(urlForLog('wss://voice.example.test/telephone/handler')).to.equal('wss://voice.example.test/telephone/handler');
  });
});
