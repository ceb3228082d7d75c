import { expect } from 'chai';
import { EchoHandler, PcmEchoHandler } from '../../handlers/index.js';
import type { AudioFrame } from '../../src/audio/frame.js';
import { CloseStream } from '../../src/session/emit.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { AudioSocket } from '../support/ws-client.js';

describe('websocket: FastRTC\'s protocol with explicit formats', function () {
  this.timeout(20000);
  let server: TestServer | undefined;
  const sockets: AudioSocket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await server?.close();
    server = undefined;
  });

  function socket(): AudioSocket {
    const s = new AudioSocket(server!.url);
    sockets.push(s);
    return s;
  }

  it('starts, answers pings, and echoes μ-law untouched (echo is native: μ-law 8 kHz)', async () => {
    server = await startTestServer(new EchoHandler());
    const client = socket();
    const started = await client.start('ws-echo');
    expect(started.mediaFormat).to.deep.equal({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    expect((started.session as { secret: string }).secret).to.have.length.greaterThan(20);
    client.send({ event: 'ping' });
    await client.next((m) => m.event === 'pong');
    const sent = Buffer.concat(Array.from({ length: 25 }, (_, i) => Buffer.alloc(160, i + 1)));
    for (let i = 0; i < 25; i++) client.sendMedia(sent.subarray(i * 160, (i + 1) * 160));
    await client.next(() => client.receivedAudio().length >= sent.length, 3000);
    expect(client.receivedAudio().equals(sent)).to.equal(true);
    client.send({ event: 'stop' });
    expect((await client.closed).code).to.equal(1000);
  });

  it('keeps FastRTC\'s default: μ-law at the handler\'s own input and output rates', async () => {
    const handler: StreamHandler = {
      inputFormat: { encoding: 'pcm16', sampleRate: 48000 },
      outputFormat: { encoding: 'pcm16', sampleRate: 24000 },
      receive: (frame: AudioFrame, ctx: SessionContext) => ctx.send(frame),
    };
    server = await startTestServer(handler);
    const client = socket();
    const started = await client.start('fastrtc-default');
    expect(started.mediaFormat).to.deep.equal({ encoding: 'audio/x-mulaw', sampleRate: 48000, channels: 1 });
    expect(started.outputMediaFormat).to.deep.equal({ encoding: 'audio/x-mulaw', sampleRate: 24000, channels: 1 });
    for (let i = 0; i < 25; i++) client.sendMedia(Buffer.alloc(960, 0x20)); // 20 ms at 48 kHz
    await client.next(() => client.receivedAudio().length >= 25 * 480 * 0.9, 3000);
    expect(client.media.every((m) => m.bytes.length % 480 === 0)).to.equal(true); // 20 ms frames at 24 kHz
  });

  it('speaks 16-bit little-endian PCM at 16 kHz when asked (wideband), both ways', async () => {
    server = await startTestServer(new PcmEchoHandler(16000));
    const client = socket();
    const started = await client.start('wideband', { mediaFormat: { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 } });
    expect(started.mediaFormat).to.deep.equal({ encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 });
    expect(started.outputMediaFormat).to.deep.equal(started.mediaFormat);
    const pcm = new Int16Array(320 * 10);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(3000 * Math.sin(i / 5)) - 1;
    for (let i = 0; i < 10; i++) client.sendMedia(new Uint8Array(pcm.buffer, i * 640, 640));
    await client.next(() => client.receivedAudio().length >= pcm.byteLength, 3000);
    expect(client.receivedAudio().equals(Buffer.from(pcm.buffer))).to.equal(true);
  });

  it('refuses bad formats with a clear error message and a close', async () => {
    server = await startTestServer(new EchoHandler());
    const bad = [
      { encoding: 'audio/L16', sampleRate: 16000, channels: 1 },
      { encoding: 'audio/x-pcm16le', sampleRate: 11025, channels: 1 },
      { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 },
      'mulaw',
    ];
    for (const mediaFormat of bad) {
      const client = socket();
      const reply = await client.start(`bad-${sockets.length}`, { mediaFormat });
      expect(reply.type).to.equal('error');
      expect(reply.message).to.match(/mediaFormat/);
      expect((await client.closed).code).to.equal(1007);
    }
    expect((await (await server.stream.status())).reserved).to.equal(0);
  });

  it('sends the limit JSON then closes, counting every transport', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 1 });
    const first = socket();
    await first.start('first');
    const second = socket();
    const reply = await second.start('second');
    expect(reply).to.deep.equal({ status: 'failed', meta: { error: 'concurrency_limit_reached', limit: 1 } });
    expect((await second.closed).code).to.equal(1013);
  });

  it('paces output by the real duration of the audio and tells the client to flush on interrupt', async () => {
    const handler: StreamHandler = {
      inputFormat: 'native',
      startUp(ctx) {
        ctx.send({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(8000).fill(0x40) }); // 1 s
      },
      onDtmf(_digit, ctx) {
        ctx.interrupt();
      },
    };
    server = await startTestServer(handler);
    const client = socket();
    const t0 = performance.now();
    await client.start('paced');
    await client.next(() => client.receivedAudio().length >= 400 * 8, 3000);
    // Paced by the audio's duration: no audio arrives earlier than its end's play time less the lead
    // (100 ms), counted from before the start (a loaded machine only makes it later). At once would fail.
    let end = 0;
    for (const { bytes, at } of client.media) {
      end += bytes.length / 8;
      expect(at - t0, `audio up to ${end} ms`).to.be.at.least(end - 100);
    }
    client.send({ event: 'dtmf', dtmf: { digit: '1' } });
    await client.next((m) => m.event === 'clear');
    // The interrupt dropped the queue: nothing is left to send, and nothing came after the clear.
    const session = server.stream.directory.sessions()[0]!;
    expect(session.queuedMs).to.equal(0);
    client.send({ event: 'ping' });
    await client.next((m) => m.event === 'pong');
    const clear = client.messages.findIndex((m) => m.event === 'clear');
    expect(client.messages.slice(clear).filter((m) => m.event === 'media')).to.deep.equal([]);
    expect(client.receivedAudio().length / 8, 'less than the second queued was sent').to.be.lessThan(1000);
  });

  it('sends end_stream when the handler closes the stream, then closes', async () => {
    const handler: StreamHandler = {
      inputFormat: 'native',
      receive(frame, ctx) {
        ctx.send(frame);
        ctx.send(new CloseStream('Goodbye.'));
      },
    };
    server = await startTestServer(handler);
    const client = socket();
    await client.start('closing');
    client.sendMedia(Buffer.alloc(160, 7));
    const end = await client.next((m) => m.type === 'end_stream');
    expect(end.data).to.equal('Goodbye.');
    expect((await client.closed).code).to.equal(1000);
    expect(client.receivedAudio().length).to.equal(160); // the queued audio was played first
  });

  const badCases: { name: string; code: number; act: (s: AudioSocket) => void }[] = [
    { name: 'non-JSON', code: 1007, act: (s) => s.send('{oops') },
    { name: 'a binary frame', code: 1003, act: (s) => s.ws.send(Buffer.from([1, 2])) },
    { name: 'media before start', code: 1002, act: (s) => s.sendMedia(Buffer.alloc(160)) },
    { name: 'an unknown event', code: 1002, act: (s) => s.send({ event: 'dance' }) },
    { name: 'a start without id', code: 1002, act: (s) => s.send({ event: 'start' }) },
    { name: 'a second start', code: 1002, act: (s) => { s.send({ event: 'start', websocket_id: 'twice' }); s.send({ event: 'start', websocket_id: 'twice' }); } },
    { name: 'bad base64', code: 1007, act: (s) => { s.send({ event: 'start', websocket_id: 'b64' }); s.send({ event: 'media', media: { payload: '@@@@' } }); } },
    { name: 'odd-length PCM', code: 1007, act: (s) => { s.send({ event: 'start', websocket_id: 'odd', mediaFormat: { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 } }); s.sendMedia(Buffer.alloc(3)); } },
  ];
  for (const { name, code, act } of badCases) {
    it(`answers ${name} with an error message and close ${code}; the server keeps serving`, async () => {
      server = await startTestServer(new EchoHandler());
      const client = socket();
      await client.opened;
      act(client);
      const error = await client.next((m) => m.type === 'error');
      expect(error.message).to.be.a('string');
      expect((await client.closed).code).to.equal(code);
      const healthy = socket();
      await healthy.start('healthy');
      healthy.sendMedia(Buffer.alloc(160, 9));
      await healthy.next(() => healthy.receivedAudio().length >= 160, 2000);
    });
  }
});
