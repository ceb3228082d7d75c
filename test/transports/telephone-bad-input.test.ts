import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import type { StreamHandler } from '../../src/session/handler.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';

async function webhook(server: TestServer) {
  const callSid = sid('CA');
  const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
  return { hook, callSid };
}

async function openStream(server: TestServer) {
  const { hook, callSid } = await webhook(server);
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
  await call.opened;
  return { call, parameters: hook.parameters };
}

/** A healthy call still gets its echo: the server survived whatever came before. */
async function assertServing(server: TestServer): Promise<void> {
  const { call, parameters } = await openStream(server);
  call.sendConnected();
  call.sendStart(parameters);
  const frame = Buffer.alloc(160, 0x23);
  for (let i = 0; i < 10; i++) call.sendMedia(frame);
  await call.waitFor(() => call.receivedAudio().length >= 1600, 3000, 'echo from a healthy call');
  call.sendStop();
  await call.closed;
}

describe('telephone: bad input closes one socket, never the server', function () {
  this.timeout(20000);
  let server: TestServer;
  let healthy: TwilioMediaStream;

  beforeEach(async () => {
    server = await startTestServer(new EchoHandler(), { telephone: { startTimeoutMs: 300 } });
    // A call running alongside every bad one must keep its audio.
    const { call, parameters } = await openStream(server);
    await call.begin(parameters);
    healthy = call;
  });

  afterEach(async () => {
    healthy.sendMedia(Buffer.alloc(160, 0x11));
    await healthy.waitFor(() => healthy.receivedAudio().includes(0x11), 2000, 'the healthy call to keep echoing');
    expect(healthy.isOpen).to.equal(true);
    await assertServing(server);
    healthy.close();
    await server.close();
  });

  const cases: { name: string; code: number; act: (call: TwilioMediaStream, parameters: Record<string, string>) => void }[] = [
    { name: 'non-JSON text', code: 1007, act: (c) => c.send('this is not json {') },
    { name: 'a JSON array', code: 1007, act: (c) => c.send('[1,2,3]') },
    { name: 'a binary frame', code: 1003, act: (c) => c.ws.send(Buffer.from([1, 2, 3])) },
    { name: 'media before start', code: 1002, act: (c) => c.sendMedia(Buffer.alloc(160)) },
    { name: 'a message without event', code: 1002, act: (c) => c.send({ streamSid: 'MZ1' }) },
    { name: 'bad base64', code: 1007, act: (c, p) => { c.sendStart(p); c.send({ event: 'media', streamSid: c.streamSid, media: { payload: '!!!not*base64??' } }); } },
    { name: 'media without payload', code: 1002, act: (c, p) => { c.sendStart(p); c.send({ event: 'media', streamSid: c.streamSid, media: {} }); } },
    { name: 'a second start', code: 1002, act: (c, p) => { c.sendStart(p); c.sendStart(p); } },
    { name: 'a frame over 64 KiB', code: 1009, act: (c, p) => { c.sendStart(p); c.send({ event: 'media', media: { payload: 'A'.repeat(70_000) } }); } },
    { name: 'no start in time', code: 1008, act: (c) => c.sendConnected() },
    { name: 'a start without the call token', code: 1008, act: (c) => c.sendStart({}) },
    { name: 'a start with a forged token', code: 1008, act: (c) => c.sendStart({ callstreamToken: 'forged' }) },
    { name: 'a start without streamSid', code: 1002, act: (c) => c.send({ event: 'start', start: {} }) },
    { name: 'an invalid dtmf digit', code: 1002, act: (c, p) => { c.sendStart(p); c.send({ event: 'dtmf', dtmf: { digit: 'x' } }); } },
    { name: 'stop before start', code: 1002, act: (c) => c.sendStop() },
    { name: 'a mark before start', code: 1002, act: (c) => c.send({ event: 'mark', streamSid: c.streamSid, mark: { name: 'm1' } }) },
    { name: 'dtmf before start', code: 1002, act: (c) => c.sendDtmf('1') },
    { name: 'a mark without a name', code: 1002, act: (c, p) => { c.sendStart(p); c.send({ event: 'mark', streamSid: c.streamSid, mark: {} }); } },
    { name: 'media without media', code: 1002, act: (c, p) => { c.sendStart(p); c.send({ event: 'media', streamSid: c.streamSid }); } },
    { name: 'a start message without start', code: 1002, act: (c) => c.send({ event: 'start', streamSid: c.streamSid }) },
  ];

  for (const { name, code, act } of cases) {
    it(`closes with ${code} on ${name}`, async () => {
      const { call, parameters } = await openStream(server);
      act(call, parameters);
      const closed = await call.closed;
      expect(closed.code).to.equal(code);
    });
  }

  it('ignores unknown events (logged) and keeps the call', async () => {
    const { call, parameters } = await openStream(server);
    call.sendStart(parameters);
    call.send({ event: 'something-new', streamSid: call.streamSid });
    call.sendMedia(Buffer.alloc(160, 0x42));
    await call.waitFor(() => call.receivedAudio().length >= 160, 2000, 'echo after an unknown event');
    call.close();
  });

  it('refuses a call token used twice', async () => {
    const { call, parameters } = await openStream(server);
    call.sendStart(parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 2, 2000, 'the first use of the token');
    const second = new TwilioMediaStream({ baseUrl: server.url, streamUrl: `wss://voice.example.test/telephone/handler`, authToken: AUTH_TOKEN });
    await second.opened;
    second.sendStart(parameters);
    expect((await second.closed).code).to.equal(1008);
    call.close();
  });

  it('survives a client that vanishes without a close frame', async () => {
    const { call, parameters } = await openStream(server);
    call.sendStart(parameters);
    call.sendMedia(Buffer.alloc(160));
    await call.waitFor(() => call.receivedAudio().length >= 160, 2000, 'the echo');
    call.destroy();
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 2000, 'only the healthy call left');
  });

  it('answers a plain GET to the media endpoint with 426, not a crash', async () => {
    const response = await fetch(`${server.url}/telephone/handler`);
    expect(response.status).to.equal(426);
  });

  it('refuses an oversized webhook body with 413', async () => {
    const response = await fetch(`${server.url}/telephone/incoming`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'x='.padEnd(100_000, 'a'),
    });
    expect(response.status).to.equal(413);
  });
});

describe('telephone: handler faults stay inside their session', function () {
  this.timeout(20000);

  it('a handler that throws ends its own session (1011) and the next call works', async () => {
    let calls = 0;
    const handler: StreamHandler = {
      inputFormat: 'native',
      copy: () => handler,
      receive(frame, ctx) {
        if (calls++ === 0) throw new Error('boom');
        ctx.send(frame);
      },
    };
    const server = await startTestServer(handler);
    try {
      const { call, parameters } = await openStream(server);
      call.sendStart(parameters);
      call.sendMedia(Buffer.alloc(160));
      expect((await call.closed).code).to.equal(1011);
      await assertServing(server);
    } finally {
      await server.close();
    }
  });

  it('a slow handler drops inbound frames (counted) instead of growing memory', async () => {
    const handler: StreamHandler = {
      inputFormat: 'native',
      copy: () => handler,
      receive: () => new Promise((resolve) => setTimeout(resolve, 200)), // the slow handler under test: real time
    };
    const server = await startTestServer(handler, { inboundBacklog: 10 });
    try {
      const sessionPromise = new Promise<import('../../src/session/session.js').Session>((r) => server.stream.once('session', r));
      const { call, parameters } = await openStream(server);
      call.sendStart(parameters);
      const session = await sessionPromise;
      for (let i = 0; i < 100; i++) call.sendMedia(Buffer.alloc(160));
      await waitUntil(() => session.framesIn === 100, 3000, 'every frame at the session');
      expect(session.droppedInbound).to.be.at.least(85);
      call.close();
    } finally {
      await server.close();
    }
  });
});
