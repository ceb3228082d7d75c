import { expect } from 'chai';
import { EchoHandler, PcmEchoHandler } from '../../handlers/index.js';
import type { AudioFrame } from '../../src/audio/frame.js';
import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import type { InterruptReport, PlayedEvent } from '../../src/session/types.js';
import { expectRejection } from '../support/assert.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, waitUntil } from '../support/wait.js';

/** μ-law frames whose content identifies them: frame i is a ramp starting at byte i. */
function numberedFrames(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const frame = Buffer.alloc(160);
    for (let j = 0; j < 160; j++) frame[j] = (i * 7 + j) % 256;
    return frame;
  });
}

function sine(frequency: number, ms: number, rate = 8000, amplitude = 8000): Int16Array {
  const out = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
  return out;
}

/** Dials through the webhook and starts the media stream; returns the connected call. */
async function dial(server: TestServer, params: Record<string, string> = {}, streamOptions: Partial<ConstructorParameters<typeof TwilioMediaStream>[0]> = {}) {
  const callSid = sid('CA');
  const hook = await postWebhook({
    baseUrl: server.url,
    publicUrl: PUBLIC_URL,
    authToken: AUTH_TOKEN,
    params: { CallSid: callSid, AccountSid: sid('AC'), From: '+15550001111', To: '+15550002222', Direction: 'inbound', ...params },
  });
  expect(hook.status).to.equal(200);
  expect(hook.streamUrl, hook.body).to.be.a('string');
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN, ...streamOptions }, callSid);
  await call.begin(hook.parameters);
  return { call, hook };
}

function nextSession(server: TestServer): Promise<Session> {
  return new Promise((resolve) => server.stream.once('session', resolve));
}

/** Sends frames at real-time pace (20 ms apart). */
async function sendFramesPaced(call: TwilioMediaStream, frames: Uint8Array[]): Promise<void> {
  await sendPaced(frames.length, (i) => call.sendMedia(frames[i]!));
}

describe('telephone: Twilio Media Streams end to end', function () {
  this.timeout(20000);
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers the webhook with signed-stream TwiML and parameters', async () => {
    server = await startTestServer(new EchoHandler(), { customParameters: (call) => ({ caller: call.from ?? '' }) });
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA'), From: '+15551234567' } });
    expect(hook.status).to.equal(200);
    expect(hook.body).to.match(/^<\?xml/);
    expect(hook.streamUrl).to.equal('wss://voice.example.test/telephone/handler');
    expect(hook.parameters.caller).to.equal('+15551234567');
    expect(hook.parameters.callstreamToken).to.have.length.greaterThan(20);
  });

  it('echoes a call: right streamSid, at least 99 % of frames, same content in order', async () => {
    server = await startTestServer(new EchoHandler());
    const sessionPromise = nextSession(server);
    const { call } = await dial(server, { From: '+15557654321' });
    const session = await sessionPromise;
    expect(session.facts.from).to.equal('+15557654321');
    expect(session.facts.callSid).to.equal(call.callSid);
    expect(session.facts.streamSid).to.equal(call.streamSid);

    const frames = numberedFrames(100);
    await sendFramesPaced(call, frames);
    const sent = Buffer.concat(frames);
    await call.waitFor(() => call.receivedAudio().length >= sent.length * 0.99, 3000, 'echoed audio');
    const received = call.receivedAudio();
    expect(received.length / sent.length).to.be.at.least(0.99);
    expect(received.subarray(0, sent.length).equals(sent.subarray(0, received.length))).to.equal(true);
    const mediaMessages = call.messages.filter((m) => m.event === 'media');
    expect(mediaMessages.every((m) => m.streamSid === call.streamSid)).to.equal(true);
    // Outbound media comes in whole 20 ms frames.
    expect(call.media.every((m) => m.bytes.length % 160 === 0)).to.equal(true);
    call.sendStop();
    const closed = await call.closed;
    expect(closed.code).to.equal(1000);
    expect((await session.ended).reason).to.equal('remote_stop');
  });

  it('echoes through a 16 kHz PCM handler (μ-law decode, resample both ways)', async () => {
    server = await startTestServer(new PcmEchoHandler(16000));
    const { call } = await dial(server);
    const tone = mulawEncode(sine(1000, 2000));
    const frames = Array.from({ length: 100 }, (_, i) => tone.subarray(i * 160, (i + 1) * 160));
    await sendFramesPaced(call, frames);
    await call.waitFor(() => call.receivedAudio().length >= tone.length * 0.99, 3000, 'echoed audio');
    const received = mulawDecode(call.receivedAudio());
    expect(received.length / tone.length).to.be.at.least(0.99);
    // The tone survives the round trip: compare against the sent tone at the best small lag.
    const sent = sine(1000, 2000);
    let best = 0;
    for (let lag = 0; lag < 40; lag++) {
      let dot = 0, a = 0, b = 0;
      for (let i = 400; i < 14000; i++) {
        const x = sent[i]!, y = received[i + lag]!;
        dot += x * y; a += x * x; b += y * y;
      }
      best = Math.max(best, dot / Math.sqrt(a * b));
    }
    expect(best).to.be.greaterThan(0.95);
  });

  it('gives a μ-law 8 kHz handler the exact bytes of the call', async () => {
    const got: Buffer[] = [];
    const handler: StreamHandler = {
      inputFormat: { encoding: 'mulaw', sampleRate: 8000 },
      receive(frame: AudioFrame) {
        if (frame.encoding === 'mulaw') got.push(Buffer.from(frame.bytes));
      },
    };
    server = await startTestServer(handler);
    const { call } = await dial(server);
    const frames = numberedFrames(20);
    // Neither the outbound track (when Twilio forks both) nor an empty payload is a frame of the caller.
    call.send({ event: 'media', streamSid: call.streamSid, media: { track: 'outbound', payload: Buffer.alloc(160, 0x7f).toString('base64') } });
    call.send({ event: 'media', streamSid: call.streamSid, media: { track: 'inbound', payload: '' } });
    for (const frame of frames) call.sendMedia(frame);
    await waitUntil(() => got.length === frames.length, 3000, 'every frame at the handler');
    expect(Buffer.concat(got).equals(Buffer.concat(frames))).to.equal(true);
  });

  it('tells the handler who is calling: the webhook\'s facts, the start\'s ids, custom parameters without the call token', async () => {
    server = await startTestServer(new EchoHandler(), { customParameters: (c) => ({ caller: c.from ?? '', callstreamToken: 'must not override' }) });
    const sessionPromise = nextSession(server);
    const { call, hook } = await dial(server, { From: '+15557654321', To: '+15550002222', Direction: 'outbound-api', CallerName: 'ADA L', AnsweredBy: 'human' });
    expect(hook.parameters.callstreamToken).to.not.equal('must not override');
    const session = await sessionPromise;
    const facts = session.facts;
    expect(facts).to.deep.include({ callSid: call.callSid, streamSid: call.streamSid, from: '+15557654321', to: '+15550002222', direction: 'outbound-api', callerName: 'ADA L', answeredBy: 'human', callStatus: 'in-progress' });
    expect(facts.accountSid).to.match(/^AC/);
    expect(facts.customParameters, 'the token stays out of the handler\'s facts').to.deep.equal({ caller: '+15557654321' });
    call.close();
  });

  it('reports playback from marks; an interrupt sends clear and flushed marks are not counted as played', async () => {
    let report: InterruptReport | undefined;
    const played: PlayedEvent[] = [];
    const digits: string[] = [];
    const handler: StreamHandler = {
      inputFormat: 'native',
      startUp(ctx: SessionContext) {
        ctx.on('played', (e) => played.push(e));
        ctx.send({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(8 * 2000).fill(0x55) });
      },
      onDtmf(digit: string, ctx: SessionContext) {
        digits.push(digit);
        if (digit === '1') report = ctx.interrupt();
      },
    };
    server = await startTestServer(handler, { telephone: { markEveryMs: 100 } });
    const { call } = await dial(server);
    await waitUntil(() => played.some((e) => e.basis === 'marks' && e.playedMs >= 300), 5000, '300 ms played, by marks');
    call.sendDtmf('1');
    await call.waitFor(() => call.clears === 1, 2000, 'clear');
    // The marks flushed by the clear went back before this digit: once the handler has it, they were read.
    call.sendDtmf('2');
    await waitUntil(() => digits.includes('2'), 2000, 'the digit after the flushed marks');
    expect(report).to.not.equal(undefined);
    expect(report!.basis).to.equal('marks');
    const sentMs = call.receivedAudio().length / 8;
    expect(report!.playedMs).to.be.at.least(300).and.at.most(sentMs);
    expect(report!.playedMs + report!.unplayedMs).to.equal(2000);
    // Audio sent after the clear: nothing (the queue was dropped); before it, no more than the lead ahead.
    expect(sentMs).to.be.lessThan(report!.playedMs + 400);
    // Marks that came back because of the clear did not move playback past what was heard.
    expect(call.marks.some((m) => !m.played)).to.equal(true);
    const last = played[played.length - 1]!;
    expect(last.playedMs).to.be.at.most(report!.playedMs);
  });

  it('delivers DTMF digits to the handler', async () => {
    const digits: string[] = [];
    server = await startTestServer({ inputFormat: 'native', onDtmf: (d: string) => void digits.push(d) });
    const { call } = await dial(server);
    call.sendDtmf('4');
    call.sendDtmf('#');
    await waitUntil(() => digits.length >= 2, 2000, 'two digits');
    expect(digits).to.deep.equal(['4', '#']);
  });
});

describe('telephone: signatures and limits', function () {
  this.timeout(20000);
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses webhooks without a signature, with a wrong one, or signed for another URL', async () => {
    server = await startTestServer(new EchoHandler());
    const base = { baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } };
    expect((await postWebhook({ ...base, signWith: false })).status).to.equal(403);
    expect((await postWebhook({ ...base, signWith: 'not-the-token' })).status).to.equal(403);
    expect((await postWebhook({ ...base, publicUrl: 'https://elsewhere.example.test' })).status).to.equal(403);
    expect((await postWebhook(base)).status).to.equal(200);
    expect((await postWebhook({ ...base, method: 'GET' })).status).to.equal(200);
  });

  it('refuses a media-stream upgrade without a valid signature of its wss:// URL', async () => {
    server = await startTestServer(new EchoHandler());
    const streamUrl = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;
    for (const signWith of [false, 'wrong-token'] as const) {
      const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl, signWith });
      await expectRejection(call.opened, /403/);
    }
    const httpsSigned = new TwilioMediaStream({ baseUrl: server.url, streamUrl: streamUrl.replace('wss', 'https'), authToken: AUTH_TOKEN });
    await expectRejection(httpsSigned.opened, /403/);
    const good = new TwilioMediaStream({ baseUrl: server.url, streamUrl, authToken: AUTH_TOKEN });
    await good.opened;
    good.close();
  });

  it('rejects calls over the concurrency limit with <Reject reason="busy"/> and frees the place after', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 1 });
    const first = await dial(server);
    const busy = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(busy.rejected).to.equal(true);
    expect(busy.body).to.contain('reason="busy"');
    first.call.sendStop();
    await first.call.closed;
    await waitUntil(async () => (await server!.stream.status()).reserved === 0, 2000, 'the place given back');
    const again = await dial(server);
    again.call.close();
  });

  it('frees a reserved place when the media stream never connects', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 1, telephone: { connectTimeoutMs: 200 } });
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(hook.streamUrl).to.be.a('string');
    const busy = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(busy.rejected).to.equal(true);
    const reservedAt = performance.now();
    await waitUntil(async () => (await server!.stream.status()).reserved === 0, 3000, 'the unconnected place given back');
    expect(performance.now() - reservedAt, 'kept until the connect deadline (200 ms)').to.be.at.least(100);
    const later = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(later.rejected).to.equal(false);
  });

  it('ends the stream cleanly at the time limit', async () => {
    server = await startTestServer(new EchoHandler(), { timeLimit: 0.4 });
    const sessionPromise = nextSession(server);
    const { call } = await dial(server);
    const started = performance.now();
    const closed = await call.closed;
    expect(closed.code).to.equal(1000);
    expect(performance.now() - started).to.be.within(300, 1500);
    expect((await (await sessionPromise).ended).reason).to.equal('time_limit');
  });

  it('holds a call well past a shortened server request timeout', async function () {
    this.timeout(15000);
    server = await startTestServer(new EchoHandler(), {}, {
      serverOptions: { connectionsCheckingInterval: 100, headersTimeout: 400, requestTimeout: 800 },
    });
    const { call } = await dial(server);
    const frames = numberedFrames(150); // 3 s of audio, ~4x the request timeout
    await sendFramesPaced(call, frames);
    await call.waitFor(() => call.receivedAudio().length >= 150 * 160 * 0.99, 3000, 'echo after 3 s');
    expect(call.isOpen).to.equal(true);
    call.sendStop();
    expect((await call.closed).code).to.equal(1000);
  });
});
