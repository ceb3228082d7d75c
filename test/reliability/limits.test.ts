import net from 'node:net';
import { expect } from 'chai';
import twilio from 'twilio';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('limits');
const never = new Promise<never>(() => {});
const STREAM_URL = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;

interface RawOutcome {
  /** What the server wrote back. */
  response: string;
  /** Milliseconds from the first byte to the server closing the connection (Infinity: still open at the end). */
  closedAfterMs: number;
  bytesSent: number;
}

/**
 * A raw TCP client: writes `head`, then `drip()` every `everyMs` (a slow-loris), until the server
 * closes the connection or `giveUpMs` passes.
 */
function rawClient(port: number, head: string, drip: () => string | Buffer, everyMs: number, giveUpMs: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = performance.now();
    let response = '';
    let bytesSent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ response, closedAfterMs, bytesSent });
    };
    const giveUp = setTimeout(() => finish(Infinity), giveUpMs);
    socket.on('data', (data) => (response += data.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => finish(performance.now() - started));
    socket.on('connect', () => {
      socket.write(head);
      bytesSent += head.length;
      timer = setInterval(() => {
        if (!socket.writable) return;
        const chunk = drip();
        bytesSent += chunk.length;
        socket.write(chunk);
      }, everyMs);
    });
  });
}

function limited(what: string, ok: boolean): void {
  count(counts, 'abuses tried');
  if (ok) count(counts, 'cut or refused');
  expect(ok, what).to.equal(true);
}

describe('reliability: limits (slow clients, big bodies and messages, rate limits)', function () {
  this.timeout(30000);
  reportAfter('limits', counts);

  describe('slow-loris and timeouts', () => {
    let server: TestServer;
    const timeouts = { connectionsCheckingInterval: 100, headersTimeout: 500, requestTimeout: 1000 };

    before(async () => {
      server = await startTestServer(new EchoHandler(), { rateLimit: false, authorize: (ctx) => (ctx.get('x-hang') ? never : true) }, { serverOptions: timeouts });
    });

    after(async () => {
      await server.close();
    });

    it('cuts a client that sends its headers byte by byte (headersTimeout)', async () => {
      for (const path of ['/webrtc/offer', '/input_hook', '/telephone/incoming', '/status']) {
        const text = `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(10_000)}`;
        let i = 0;
        const outcome = await rawClient(server.running.port, 'P', () => text[++i] ?? 'a', 50, 5000);
        limited(`byte-by-byte headers on ${path}: closed after ${outcome.closedAfterMs} ms`, outcome.closedAfterMs < 2000);
        expect(outcome.response).to.match(/^HTTP\/1\.1 408/);
      }
    });

    it('cuts a body that never completes (requestTimeout)', async () => {
      for (const path of ['/webrtc/offer', '/input_hook', '/telephone/incoming']) {
        const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
        const outcome = await rawClient(server.running.port, head, () => ' ', 100, 5000);
        expect(outcome.closedAfterMs).to.be.above(900);
        limited(`slow body on ${path}: closed after ${outcome.closedAfterMs} ms`, outcome.closedAfterMs < 2500);
      }
    });

    it('cuts a slow-loris on a WebSocket upgrade: headers byte by byte, a body that never comes, an upgrade never answered', async () => {
      const upgrade = `GET /websocket/offer HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n`;
      let i = 0;
      const dripped = await rawClient(server.running.port, 'G', () => upgrade[++i] ?? 'X', 50, 5000);
      limited(`byte-by-byte upgrade headers: closed after ${dripped.closedAfterMs} ms`, dripped.closedAfterMs < 2000);

      // An upgrade request with a body: Node hands it over before the body, which would never reach the route.
      for (const path of ['/webrtc/offer', '/input_hook', '/telephone/incoming']) {
        const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`;
        const outcome = await rawClient(server.running.port, head, () => ' ', 100, 5000);
        limited(`upgrade with a slow body on ${path}: closed after ${outcome.closedAfterMs} ms`, outcome.closedAfterMs < 1000);
        expect(outcome.response).to.match(/^HTTP\/1\.1 405/);
      }

      // A route that never answers the upgrade (here: an authorize hook that never returns).
      const stuck = await rawClient(server.running.port, `${upgrade}X-Hang: 1\r\n\r\n`, () => '', 1000, 5000);
      limited(`an upgrade never answered: closed after ${stuck.closedAfterMs} ms`, stuck.closedAfterMs < 1500);
    });

    it('keeps live WebSocket sessions past the HTTP timeouts', async () => {
      const program = new AudioSocket(server.url);
      await program.start('long-call', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } });
      // Two seconds of real-time audio: real time must pass for the HTTP timeouts to apply.
      await sendPaced(100, () => program.sendMedia(Buffer.alloc(160, 0x33)));
      expect(program.ws.readyState).to.equal(WebSocket.OPEN);
      expect(program.media.length).to.be.greaterThan(80);
      program.close();
    });
  });

  describe('oversized bodies and messages', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(new EchoHandler(), { rateLimit: false });
    });

    after(async () => {
      await server.close();
    });

    it('answers 413 on every body route, declared or streamed, and closes without reading the rest', async () => {
      for (const path of ['/webrtc/offer', '/input_hook', '/telephone/incoming']) {
        const declared = await rawClient(
          server.running.port,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n`,
          () => Buffer.alloc(16 * 1024, 0x20),
          5,
          5000,
        );
        limited(`declared 50 MB on ${path}: ${declared.response.slice(0, 40)}`, /^HTTP\/1\.1 413/.test(declared.response));
        expect(declared.closedAfterMs).to.be.below(3000);
        expect(declared.bytesSent, 'bytes the server let us send').to.be.below(10_000_000);
        expect(declared.response).to.match(/"error":"BAD_REQUEST"/);

        const streamed = await rawClient(
          server.running.port,
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
          () => `4000\r\n${' '.repeat(0x4000)}\r\n`,
          5,
          5000,
        );
        limited(`chunked past 64 KiB on ${path}: ${streamed.response.slice(0, 40)}`, /^HTTP\/1\.1 413/.test(streamed.response));
        expect(streamed.closedAfterMs).to.be.below(3000);
      }
    });

    it('closes every WebSocket with 1009 on a message over 64 KiB, whole or fragmented', async () => {
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
      const sockets: [string, WebSocket][] = [];
      const phone = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN });
      await phone.opened;
      sockets.push(['/telephone/handler', phone.ws]);
      const program = new AudioSocket(server.url);
      await program.opened;
      sockets.push(['/websocket/offer', program.ws]);
      const phone2 = new WebSocket(`${server.url.replace('http', 'ws')}/telephone/handler`, { headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, STREAM_URL, {}) } });
      const program2 = new WebSocket(`${server.url.replace('http', 'ws')}/websocket/offer`);
      for (const ws of [phone2, program2]) {
        ws.on('error', () => {});
        await new Promise((resolve) => ws.once('open', resolve));
      }
      sockets.push(['/telephone/handler (fragmented)', phone2], ['/websocket/offer (fragmented)', program2]);
      const codes = sockets.map(([, ws]) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))));
      phone.ws.send(JSON.stringify({ event: 'media', media: { payload: 'A'.repeat(70_000) } }));
      program.ws.send('x'.repeat(70_000));
      for (const ws of [phone2, program2]) {
        for (let i = 0; i < 5; i++) ws.send('y'.repeat(16_000), { fin: false });
        ws.send('}', { fin: true });
      }
      const closed = await Promise.all(codes);
      sockets.forEach(([what], i) => limited(`${what}: close ${closed[i]}`, closed[i] === 1009));
    });
  });

  describe('per-IP rate limits (429 with Retry-After)', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(new EchoHandler(), {
        rateLimit: { offers: { limit: 3, windowMs: 60_000 }, candidates: { limit: 12, windowMs: 60_000 }, signatureFailures: { limit: 3, windowMs: 60_000 } },
      });
      server.app.proxy = true; // X-Forwarded-For stands for other addresses
    });

    after(async () => {
      await server.close();
    });

    const offer = (body: unknown, from?: string) =>
      fetch(`${server.url}/webrtc/offer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(from ? { 'X-Forwarded-For': from } : {}) },
        body: JSON.stringify(body),
      });

    it('limits offers and refused requests per address, and trickled candidates on a budget of their own', async () => {
      const candidate = { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
      for (let i = 0; i < 10; i++) {
        const response = await offer({ type: 'ice-candidate', webrtc_id: 'early-bird', candidate }, '198.51.100.1');
        expect(await response.json()).to.deep.equal({ status: 'success' });
      }
      for (let i = 0; i < 3; i++) expect((await offer({ type: 'offer', webrtc_id: 'x', sdp: 'bogus' }, '198.51.100.1')).status).to.equal(400);
      const refusedOffer = await offer({ type: 'offer', webrtc_id: 'x', sdp: 'bogus' }, '198.51.100.1');
      limited(`an offer over the limit: HTTP ${refusedOffer.status}`, refusedOffer.status === 429);
      expect(Number(refusedOffer.headers.get('retry-after'))).to.be.within(1, 20);
      expect(await refusedOffer.json()).to.deep.include({ error: 'RATE_LIMITED' });
      // The offers' budget spent, candidates still have theirs (12): two more, then 429.
      for (let i = 0; i < 2; i++) expect((await offer({ type: 'ice-candidate', webrtc_id: 'early-bird', candidate }, '198.51.100.1')).status).to.equal(200);
      const refusedCandidate = await offer({ type: 'ice-candidate', webrtc_id: 'early-bird', candidate }, '198.51.100.1');
      limited(`a candidate over the limit: HTTP ${refusedCandidate.status}`, refusedCandidate.status === 429);
      expect(Number(refusedCandidate.headers.get('retry-after'))).to.be.within(1, 20);
      expect(await refusedCandidate.json()).to.deep.include({ error: 'RATE_LIMITED' });
      // Another address, and an IPv6 client of another /64, are not affected.
      expect((await offer({ type: 'offer', webrtc_id: 'x', sdp: 'bogus' }, '198.51.100.2')).status).to.equal(400);
      expect((await offer({ type: 'offer', webrtc_id: 'x', sdp: 'bogus' }, '2001:db8:1:2::7')).status).to.equal(400);
    });

    it('limits requests failing the Twilio signature, never valid ones from the same address', async () => {
      const base = { baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } };
      for (let i = 0; i < 3; i++) expect((await postWebhook({ ...base, signWith: 'forged' })).status).to.equal(403);
      const webhook = await fetch(`${server.url}/telephone/incoming`, { method: 'POST', headers: { 'X-Twilio-Signature': 'forged' }, body: 'CallSid=CA1' });
      limited(`forged webhook over the limit: HTTP ${webhook.status}`, webhook.status === 429);
      expect(Number(webhook.headers.get('retry-after'))).to.be.within(1, 20);
      const upgrade = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, signWith: 'forged' });
      const refusal = await upgrade.opened.then(() => 'open', (error: Error) => error.message);
      limited(`forged media upgrade over the limit: ${refusal}`, /HTTP 429/.test(refusal));

      // Twilio's own requests from the same address still get through.
      const valid = await postWebhook(base);
      expect(valid.status).to.equal(200);
      const stream = new TwilioMediaStream({ baseUrl: server.url, streamUrl: valid.streamUrl!, authToken: AUTH_TOKEN }, base.params.CallSid);
      await stream.begin(valid.parameters);
      stream.sendMedia(Buffer.alloc(160, 0x44));
      await stream.waitFor(() => stream.media.length > 0, 3000, 'echo');
      stream.close();
    });
  });
});
