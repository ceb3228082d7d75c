import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EchoHandler } from '../handlers/index.js';
import type { Session } from '../src/session/session.js';
import { dialTestServer, startTestServer } from './support/server.js';
import { sendPaced } from './support/wait.js';
import { TestPeer } from './support/webrtc-peer.js';

interface Wav {
  channels: number;
  sampleRate: number;
  left: Int16Array;
  right: Int16Array;
}

function readStereoWav(file: string): Wav {
  const data = readFileSync(file);
  expect(data.toString('ascii', 0, 4)).to.equal('RIFF');
  expect(data.readUInt32LE(4)).to.equal(data.length - 8);
  const channels = data.readUInt16LE(22);
  const sampleRate = data.readUInt32LE(24);
  const bytes = data.readUInt32LE(40);
  expect(bytes).to.equal(data.length - 44);
  const samples = new Int16Array(data.buffer.slice(data.byteOffset + 44, data.byteOffset + 44 + bytes));
  const frames = samples.length / channels;
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = samples[2 * i]!;
    right[i] = samples[2 * i + 1]!;
  }
  return { channels, sampleRate, left, right };
}

/** Index of the first sample louder than `level`. */
const onset = (samples: Int16Array, level = 2000) => samples.findIndex((s) => Math.abs(s) > level);

describe('recording: one stereo WAV per session, caller left, handler right', function () {
  this.timeout(30000);
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'callstream-rec-'));
  });

  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('records a phone call with the right length, channels and alignment', async () => {
    const server = await startTestServer(new EchoHandler(), { record: { directory, sampleRate: 8000 } });
    try {
      const sessionPromise = new Promise<Session>((resolve) => server.stream.once('session', resolve));
      const call = await dialTestServer(server);
      const session = await sessionPromise;
      // 1.2 s of quiet with a loud burst at 500 ms, sent in real time.
      await sendPaced(60, (i) => call.sendMedia(Buffer.alloc(160, i >= 25 && i < 30 ? 0x00 : 0xff))); // 0x00 is μ-law's loudest negative value
      await call.waitFor(() => call.receivedAudio().length >= 60 * 160, 3000, 'the whole echo');
      call.sendStop();
      await session.ended;
      await session.recording!.finished;
      const wav = readStereoWav(session.recording!.file);
      expect(wav.channels).to.equal(2);
      expect(wav.sampleRate).to.equal(8000);
      expect(wav.left.length / 8000).to.be.within(1.2, 1.8);
      // The caller's audio starts where its first frame arrived, a little after the session started.
      expect(onset(wav.left)).to.be.within(25 * 160, 25 * 160 + 8 * 500);
      // The echo sits on the right channel at the same time, give or take one frame of processing.
      expect(onset(wav.right) - onset(wav.left)).to.be.within(0, 8 * 40);
    } finally {
      await server.close();
    }
  });

  it('records a WebRTC call too, and finishes the file when the peer goes away', async () => {
    const server = await startTestServer(new EchoHandler(), { record: { directory } });
    try {
      const sessionPromise = new Promise<Session>((resolve) => server.stream.once('session', resolve));
      const peer = new TestPeer(server.url, 'recorded');
      await peer.connect();
      const session = await sessionPromise;
      const tone = new Int16Array(960).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000)));
      await sendPaced(40, () => peer.sendFrame(tone));
      await peer.close();
      await session.ended;
      await session.recording!.finished;
      const wav = readStereoWav(session.recording!.file);
      expect(wav.sampleRate).to.equal(16000);
      expect(wav.left.length / 16000).to.be.within(0.6, 1.5);
      expect(onset(wav.left, 1000)).to.be.greaterThan(-1);
      expect(onset(wav.right, 1000)).to.be.greaterThan(-1);
    } finally {
      await server.close();
    }
  });
});
