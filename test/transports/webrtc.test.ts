import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import type { AudioFrame } from '../../src/audio/frame.js';
import { OpusCodec } from '../../src/audio/opus.js';
import type { SessionContext, SessionFunction, StreamHandler } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { goertzel } from '../support/goertzel.js';
import { TestPeer } from '../support/webrtc-peer.js';
import { sendPaced, waitUntil } from '../support/wait.js';

function tone48k(frameIndex: number, frequency = 440): Int16Array {
  const out = new Int16Array(960);
  for (let i = 0; i < 960; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * frequency * (frameIndex * 960 + i)) / 48000));
  return out;
}

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

describe('webrtc: browsers as sessions (werift peers on loopback)', function () {
  this.timeout(30000);
  let server: TestServer | undefined;
  const peers: TestPeer[] = [];

  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await server?.close();
    server = undefined;
  });

  function peer(id: string, options: ConstructorParameters<typeof TestPeer>[2] = {}): TestPeer {
    const p = new TestPeer(server!.url, id, options);
    peers.push(p);
    return p;
  }

  it('answers an offer (candidates in the answer) and echoes Opus audio', async () => {
    server = await startTestServer(new EchoHandler());
    const client = peer('opus-echo');
    const answer = await client.connect();
    expect(answer.type).to.equal('answer');
    expect(answer.sdp).to.match(/a=candidate:/);
    expect(answer.sdp).to.match(/opus\/48000\/2/i);
    await sendPaced(100, (i) => client.sendFrame(tone48k(i)));
    await waitUntil(() => client.received.length >= 95, 3000, 'echoed packets');
    const decoder = new OpusCodec(48000);
    const decoded = client.received.map((p) => decoder.decode(p.payload));
    const energy = rms(Int16Array.from(decoded.slice(20).flatMap((d) => Array.from(d))));
    expect(energy).to.be.greaterThan(2000);
    // Sequence numbers and timestamps advance by one packet each.
    for (let i = 1; i < client.received.length; i++) {
      expect((client.received[i]!.sequenceNumber - client.received[i - 1]!.sequenceNumber) & 0xffff).to.equal(1);
      expect((client.received[i]!.timestamp - client.received[i - 1]!.timestamp) >>> 0).to.equal(960);
    }
  });

  it('echoes PCMU untouched when the browser offers only PCMU', async () => {
    server = await startTestServer(new EchoHandler());
    const client = peer('pcmu-echo', { codec: 'pcmu' });
    const answer = await client.connect();
    expect(answer.sdp).to.match(/PCMU\/8000/);
    const frames = Array.from({ length: 50 }, (_, i) => new Uint8Array(160).fill(0x10 + i));
    await sendPaced(50, (i) => client.sendFrame(frames[i]!));
    await waitUntil(() => client.received.length >= 50, 3000, 'echoed packets');
    const received = Buffer.concat(client.received.map((p) => p.payload));
    expect(received.equals(Buffer.concat(frames))).to.equal(true);
  });

  it('serves PCMU to a PCMU-only configuration even when the browser prefers Opus', async () => {
    server = await startTestServer(new EchoHandler(), { webrtc: { codec: 'pcmu' } });
    const client = peer('pcmu-pref');
    const answer = await client.connect();
    expect(answer.sdp).to.match(/PCMU\/8000/);
    expect(answer.sdp).to.not.match(/opus/i);
  });

  it('accepts trickled candidates, including ones that arrive before the offer', async () => {
    server = await startTestServer(new EchoHandler());
    const early = await new TestPeer(server.url, 'early').post({
      type: 'ice-candidate',
      webrtc_id: 'trickle',
      candidate: { candidate: 'candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    });
    expect(early.json).to.deep.equal({ status: 'success' });
    const client = peer('trickle', { trickle: true });
    await client.connect();
    expect(client.pc.connectionState).to.equal('connected');
  });

  it('answers the limit with HTTP 200 and FastRTC\'s failure JSON, across transports', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 1 });
    // A phone call takes the only place.
    const call = await dialTestServer(server!);
    const client = peer('over-limit');
    const offer = await client.pc.createOffer();
    await client.pc.setLocalDescription(offer);
    const response = await client.post({ sdp: client.pc.localDescription!.sdp, type: 'offer', webrtc_id: 'over-limit' });
    expect(response.status).to.equal(200);
    expect(response.json).to.deep.equal({ status: 'failed', meta: { error: 'concurrency_limit_reached', limit: 1 } });
    call.close();
  });

  it('refuses malformed bodies with 400 and a clear JSON error', async () => {
    server = await startTestServer(new EchoHandler());
    const post = (body: string) =>
      fetch(`${server!.url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const cases = [
      '{not json',
      '[]',
      JSON.stringify({ type: 'offer', sdp: 'v=0' }),
      JSON.stringify({ type: 'offer', webrtc_id: 'has spaces!', sdp: 'v=0' }),
      JSON.stringify({ type: 'answer', webrtc_id: 'x' }),
      JSON.stringify({ type: 'offer', webrtc_id: 'x', sdp: 42 }),
      JSON.stringify({ type: 'offer', webrtc_id: 'x', sdp: 'v=0\r\nthis is not sdp' }),
    ];
    for (const body of cases) {
      const response = await post(body);
      expect(response.status, body).to.equal(400);
      const json = (await response.json()) as { error: string; message: string };
      expect(json.error).to.equal('BAD_REQUEST');
      expect(json.message).to.be.a('string').and.have.length.greaterThan(10);
    }
    expect((await server.stream.status()).total).to.equal(0);
    expect((await (await server.stream.status())).reserved).to.equal(0);
    const bogus = await new TestPeer(server.url, 'b').post({ type: 'ice-candidate', webrtc_id: 'nobody', candidate: { candidate: 'garbage' } });
    expect(bogus.json).to.deep.equal({ status: 'failed', meta: { error: 'invalid_candidate_format' } });
    const duplicate = peer('dup');
    await duplicate.connect();
    const again = await new TestPeer(server.url, 'dup').post({ type: 'offer', webrtc_id: 'dup', sdp: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n' });
    expect(again.json).to.deep.equal({ status: 'failed', meta: { error: 'connection_already_exists' } });
  });

  it('carries keypad digits on the data channel as the same dtmf event a phone call produces', async () => {
    const digits: string[] = [];
    server = await startTestServer({ inputFormat: 'native', onDtmf: (d: string) => void digits.push(d) });
    const client = peer('dtmf');
    await client.connect();
    await client.waitForChannel();
    client.sendMessage({ type: 'dtmf', data: '5' });
    client.sendMessage({ type: 'dtmf', data: '#' });
    client.sendMessage({ type: 'hello' });
    await waitUntil(() => digits.length === 2 && client.messages.length > 0, 3000, 'digits and log echo');
    expect(digits).to.deep.equal(['5', '#']);
    expect(client.messages[0]).to.deep.include({ type: 'log' });
  });

  it('mode "send": the server only receives', async () => {
    const heard: AudioFrame[] = [];
    server = await startTestServer({ inputFormat: 'native', receive: (f: AudioFrame, ctx: SessionContext) => { heard.push(f); ctx.send(f); } }, { mode: 'send' });
    const client = peer('send-mode', { direction: 'sendonly' });
    await client.connect();
    await sendPaced(25, (i) => client.sendFrame(tone48k(i)));
    await waitUntil(() => heard.length === 25, 3000, 'every frame at the handler');
    // The handler answered each frame: had any answer been sent, the earlier ones would be here by now.
    expect(client.received).to.have.length(0);
  });

  it('mode "receive": the server only sends (a generator handler)', async () => {
    const speaker: SessionFunction = async function* () {
      for (let i = 0; i < 25; i++) yield { encoding: 'pcm16', sampleRate: 48000, samples: tone48k(i) } as AudioFrame;
    };
    server = await startTestServer(speaker, { mode: 'receive' });
    const client = peer('receive-mode', { direction: 'recvonly' });
    await client.connect();
    await waitUntil(() => client.received.length >= 25, 3000, 'generated audio');
    expect(client.received.length).to.equal(25);
  });

  it('keeps the handler\'s input continuous when packets are reordered or lost', async () => {
    const heard: Uint8Array[] = [];
    const handler: StreamHandler = {
      inputFormat: { encoding: 'mulaw', sampleRate: 8000 },
      copy: () => handler,
      receive: (f: AudioFrame) => void (f.encoding === 'mulaw' && heard.push(f.bytes)),
    };
    server = await startTestServer(handler);
    const client = peer('reorder', { codec: 'pcmu' });
    await client.connect();
    const slots = client.reserve(30);
    // Network order: 0..9, 11, 10 (swapped), 12, 13, (14 lost), 15..29.
    const order = [...Array(10).keys(), 11, 10, 12, 13, ...Array.from({ length: 15 }, (_, i) => 15 + i)];
    for (const index of order) {
      client.sendFrame(new Uint8Array(160).fill(index + 1), slots[index]);
    }
    await waitUntil(() => heard.length >= 30, 3000, '30 frames at the handler');
    const firstBytes = heard.map((f) => f[0]);
    expect(firstBytes.slice(0, 14)).to.deep.equal(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(firstBytes[14]).to.equal(0xff); // the lost packet, concealed as silence
    expect(firstBytes.slice(15)).to.deep.equal(Array.from({ length: 15 }, (_, i) => 16 + i));
  });

  it('frees the session, peer and place when the browser closes', async () => {
    server = await startTestServer(new EchoHandler(), { webrtc: { disconnectGraceMs: 300 } });
    const sessionPromise = new Promise<Session>((resolve) => server!.stream.once('session', resolve));
    const client = peer('closing');
    await client.connect();
    const session = await sessionPromise;
    await waitUntil(() => session.isLive, 2000, 'session start');
    await client.close();
    const info = await session.ended;
    expect(info.reason).to.equal('remote_closed');
    expect((await server.stream.status()).total).to.equal(0);
    expect((await (await server.stream.status())).reserved).to.equal(0);
  });

  it('serves a phone call and a browser at once with the same handler type', async () => {
    server = await startTestServer(new EchoHandler());
    const client = peer('both');
    await client.connect();
    const call = await dialTestServer(server!);
    await waitUntil(async () => (await server!.stream.status()).total === 2, 2000, 'both sessions');
    expect((await server.stream.status()).active).to.deep.equal({ telephone: 1, webrtc: 1, websocket: 0 });
    // Each caller says something of its own: the browser a 440 Hz tone, the phone numbered frames.
    const phoneFrames = Array.from({ length: 30 }, (_, i) => new Uint8Array(160).fill(0x20 + i));
    await sendPaced(30, (i) => {
      client.sendFrame(tone48k(i));
      call.sendMedia(phoneFrames[i]!);
    });
    await waitUntil(() => client.received.length >= 30 && call.receivedAudio().length >= 30 * 160, 3000, 'both echoes');
    // The phone hears its own bytes back, all of them, in order, and nothing of the browser's.
    expect(call.receivedAudio().equals(Buffer.concat(phoneFrames))).to.equal(true);
    // The browser hears its own tone: loud, at 440 Hz, not the phone's flat frames.
    const decoder = new OpusCodec(48000);
    const browserEcho = Int16Array.from(client.received.slice(5).flatMap((p) => Array.from(decoder.decode(p.payload))));
    expect(rms(browserEcho)).to.be.greaterThan(2000);
    const at440 = goertzel(browserEcho, 0, browserEcho.length, 440, 48000);
    const at1000 = goertzel(browserEcho, 0, browserEcho.length, 1000, 48000);
    expect(at440, 'the echo is the browser\'s 440 Hz tone').to.be.greaterThan(100 * at1000);
    call.close();
  });
});
