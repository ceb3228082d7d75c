import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { EchoHandler, flip, invert } from '../../handlers/index.js';
import { CallstreamError } from '../../src/errors.js';
import type { AudioFrame } from '../../src/audio/frame.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import { Stream } from '../../src/stream.js';
import { i420Size, i420ToRgba, rgbaToI420, type VideoFrame } from '../../src/video/frame.js';
import { vp8KeyframeSize } from '../../src/video/ivf.js';
import { AUTH_TOKEN, PUBLIC_URL, sleep, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { decodeClip, makeClip, planeMeans, VideoTestPeer } from '../support/video.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

/** Codec processes of this process: ffmpeg, and vpxdec where it decodes. */
function codecChildren(): number {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '^(ffmpeg|vpxdec)$']).toString().trim().split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

describe('video: frame handlers over WebRTC (VP8 through ffmpeg)', function () {
  this.timeout(60000);
  let server: TestServer | undefined;
  const peers: VideoTestPeer[] = [];
  const WIDTH = 320;
  const HEIGHT = 240;

  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await server?.close();
    server = undefined;
  });

  function peer(id: string, options: { audio?: boolean } = {}): VideoTestPeer {
    const p = new VideoTestPeer(server!.url, id, options);
    peers.push(p);
    return p;
  }

  it('gives the handler frames of the right size and sends back decodable inverted pixels', async () => {
    const sizes = new Set<string>();
    const sessions: Session[] = [];
    server = await startTestServer((frame: VideoFrame) => {
      sizes.add(`${frame.width}x${frame.height}:${frame.format}:${frame.data.length}`);
      return invert(frame);
    }, { modality: 'video' });
    server.stream.on('session', (s) => sessions.push(s));
    const client = peer('invert');
    await client.connect();
    const clip = makeClip({ width: WIDTH, height: HEIGHT, frames: 30, color: '0x3366cc' });
    await client.play(clip, 60);
    await waitUntil(() => client.receivedFrames.length >= 20, 5000, 'returned frames');
    expect([...sizes]).to.deep.equal([`${WIDTH}x${HEIGHT}:i420:${i420Size(WIDTH, HEIGHT)}`]);
    expect(sessions[0]!.transportStats().keyframeAsks, 'a keyframe is asked for at the start').to.be.at.least(1);
    const first = client.receivedFrames.findIndex((f) => f.isKeyframe);
    expect(first).to.be.at.least(0);
    const returned = decodeClip(client.receivedFrames.slice(first).map((f) => f.data), WIDTH, HEIGHT);
    const original = decodeClip(clip.slice(0, 1), WIDTH, HEIGHT)[0]!;
    const [y, u, v] = planeMeans(original, WIDTH, HEIGHT);
    const [yr, ur, vr] = planeMeans(returned[returned.length - 1]!, WIDTH, HEIGHT);
    expect(yr).to.be.closeTo(251 - y, 6);
    expect(ur).to.be.closeTo(256 - u, 6);
    expect(vr).to.be.closeTo(256 - v, 6);
  });

  it('follows the handler\'s output size, which may differ from the input', async () => {
    server = await startTestServer((frame: VideoFrame) => flip(rgbaToI420(i420ToRgba(frame).subarray(0, 160 * 4 * 120), 160, 120)), { modality: 'video' });
    const client = peer('resize');
    await client.connect();
    await client.play(makeClip({ width: WIDTH, height: HEIGHT, frames: 15 }), 30);
    await waitUntil(() => client.receivedFrames.some((f) => f.isKeyframe), 5000, 'a returned keyframe');
    expect(vp8KeyframeSize(client.receivedFrames.find((f) => f.isKeyframe)!.data)).to.deep.equal({ width: 160, height: 120 });
  });

  it('drops frames for a slow handler instead of queueing them (memory stays flat)', async () => {
    const sessions: Session[] = [];
    server = await startTestServer(async (frame: VideoFrame) => {
      await sleep(150); // the slow handler under test: real time
      return frame;
    }, { modality: 'video' });
    server.stream.on('session', (s) => sessions.push(s));
    const client = peer('slow');
    await client.connect();
    await client.play(makeClip({ width: WIDTH, height: HEIGHT, frames: 30 }), 60);
    await waitUntil(() => (sessions[0]?.videoStats?.received ?? 0) >= 50, 3000, '50 frames at the session');
    const stats = sessions[0]!.videoStats!;
    expect(stats.received).to.be.at.least(50);
    expect(stats.processed).to.be.at.most(18);
    expect(stats.dropped).to.be.at.least(stats.received - stats.processed - 2);
    expect(stats.handlerMs).to.be.within(140, 250);
  });

  it('serves an audio-video handler both tracks on one session', async () => {
    let videoFrames = 0;
    let audioFrames = 0;
    const handler: StreamHandler = {
      inputFormat: 'native',
      copy: () => handler,
      receive(frame: AudioFrame, ctx: SessionContext) {
        audioFrames++;
        ctx.send(frame);
      },
      videoReceive() {
        videoFrames++;
      },
      videoEmit: () => undefined,
    };
    server = await startTestServer(handler, { modality: 'audio-video' });
    const client = peer('av', { audio: true });
    await client.connect();
    const clip = makeClip({ width: WIDTH, height: HEIGHT, frames: 15 });
    const playing = client.play(clip, 30);
    const { OpusCodec } = await import('../../src/audio/opus.js');
    const { RtpHeader, RtpPacket } = await import('werift');
    const opus = new OpusCodec();
    await sendPaced(50, (i) => client.audio.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: i, timestamp: i * 960, payloadType: 111 }), Buffer.from(opus.encode(new Int16Array(960))))));
    await playing;
    await waitUntil(() => videoFrames >= 10 && audioFrames >= 30, 5000, 'both tracks');
    expect((await server.stream.status()).active.webrtc).to.equal(1);
  });

  it('frees its codec processes when the peer goes away', async () => {
    server = await startTestServer(invert, { modality: 'video' });
    const client = peer('cleanup');
    await client.connect();
    await client.play(makeClip({ width: WIDTH, height: HEIGHT, frames: 15 }), 20);
    await waitUntil(() => client.receivedFrames.length > 0, 5000, 'frames back');
    expect(codecChildren()).to.be.at.least(2);
    await client.close();
    peers.length = 0;
    await waitUntil(async () => (await server!.stream.status()).total === 0, 5000, 'session end');
    await waitUntil(() => codecChildren() === 0, 3000, 'no codec process left');
  });

  it('a video Stream refuses phone calls (TwiML that says so) and WebSocket clients', async () => {
    server = await startTestServer(invert, { modality: 'video' });
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(hook.body).to.match(/<Say>.*video only.*<\/Say><Hangup\/>/);
    const socket = new AudioSocket(server.url);
    await socket.opened;
    const error = await socket.next((m) => m.type === 'error');
    expect(error.message).to.match(/video only/);
    expect((await socket.closed).code).to.equal(1008);
  });

  it('an audio-video Stream serves phone callers their audio', async () => {
    const handler: StreamHandler = Object.assign(new EchoHandler(), { videoReceive: () => {}, videoEmit: () => undefined });
    server = await startTestServer(handler, { modality: 'audio-video' });
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(hook.streamUrl).to.be.a('string');
  });

  it('says clearly when ffmpeg is missing, at Stream creation', () => {
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg';
    try {
      expect(() => new Stream(invert, { modality: 'video' })).to.throw(CallstreamError, /FFMPEG_PATH.*not an executable/);
      expect(() => new Stream(new EchoHandler())).to.not.throw();
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
  });

  it('converts I420 to RGBA and back (the opt-in pixel helper)', () => {
    const rgba = new Uint8ClampedArray(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set([200, 40, 90, 255], i * 4);
    const back = i420ToRgba(rgbaToI420(rgba, 4, 4));
    for (let i = 0; i < 16; i++) {
      expect(back[i * 4]).to.be.closeTo(200, 3);
      expect(back[i * 4 + 1]).to.be.closeTo(40, 3);
      expect(back[i * 4 + 2]).to.be.closeTo(90, 3);
    }
  });
});

describe('extra tracks', function () {
  this.timeout(20000);

  it('refuses a video track offered to an audio Stream unless allowExtraTracks', async () => {
    for (const allow of [false, true]) {
      const server = await startTestServer(new EchoHandler(), { allowExtraTracks: allow });
      try {
        const client = new VideoTestPeer(server.url, `extra-${allow}`, { audio: true });
        await client.pc.setLocalDescription(await client.pc.createOffer());
        const response = await fetch(`${server.url}/webrtc/offer`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sdp: client.pc.localDescription!.sdp, type: 'offer', webrtc_id: `extra-${allow}` }),
        });
        expect(response.status).to.equal(allow ? 200 : 400);
        if (!allow) expect(((await response.json()) as { message: string }).message).to.match(/allowExtraTracks/);
        await client.close();
      } finally {
        await server.close();
      }
    }
  });
});
