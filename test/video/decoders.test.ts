import { expect } from 'chai';
import { findVpxdec } from '../../src/video/ffmpeg.js';
import { FfmpegVideoCodec } from '../../src/video/ffmpeg-codec.js';
import { i420Size, type VideoFrame } from '../../src/video/frame.js';
import { makeClip, planeMeans } from '../support/video.js';
import { waitUntil } from '../support/wait.js';

const WIDTH = 160;
const HEIGHT = 120;

/**
 * Feeds a clip one frame at a time (waiting up to `waitEachMs` for each to come out); returns what
 * came out, once at least `atLeast` frames have, and how many came out before the next was fed.
 */
async function decodeOneByOne(codec: FfmpegVideoCodec, clip: Buffer[], waitEachMs: number, atLeast: number): Promise<{ frames: VideoFrame[]; outBeforeNext: number }> {
  const frames: VideoFrame[] = [];
  const errors: string[] = [];
  const decoder = codec.createDecoder((frame) => frames.push(frame), (reason) => errors.push(reason));
  let outBeforeNext = 0;
  try {
    for (let i = 0; i < clip.length; i++) {
      expect(decoder.decode(clip[i]!, i * 3000)).to.equal(true);
      // Wait (bounded) for this frame before feeding the next: a decoder that holds one frame back never delivers it.
      const arrived = await waitUntil(() => frames.length === i + 1, waitEachMs, 'frame').then(() => true, () => false);
      if (arrived) outBeforeNext++;
    }
    await waitUntil(() => frames.length >= atLeast, 3000, `frames (${frames.length} of ${clip.length}, errors: ${errors.join('; ')})`);
  } finally {
    decoder.close();
  }
  expect(errors).to.deep.equal([]);
  return { frames, outBeforeNext };
}

describe('video decoders: vpxdec and ffmpeg behind the same codec', function () {
  this.timeout(30000);
  const clip = makeClip({ width: WIDTH, height: HEIGHT, frames: 5, color: '0x3366cc' });

  it('ffmpeg decodes a clip to I420 frames of the right size and colour, with their timestamps', async () => {
    // Debian's ffmpeg 5.1 holds back the last frame or two until more input comes.
    const { frames } = await decodeOneByOne(new FfmpegVideoCodec({ decoder: 'ffmpeg' }), clip, 50, clip.length - 2);
    expect(frames[0]).to.include({ width: WIDTH, height: HEIGHT, format: 'i420', timestamp: 0 });
    expect(frames[0]!.data.length).to.equal(i420Size(WIDTH, HEIGHT));
    const [y] = planeMeans(frames[0]!.data, WIDTH, HEIGHT);
    expect(y).to.be.within(80, 110); // 0x3366cc: Y ≈ 95 in limited range
  });

  it('vpxdec (when installed) gives the same frames, each one before the next is fed', async function () {
    if (!findVpxdec()) this.skip();
    const codec = new FfmpegVideoCodec();
    expect(codec.name).to.match(/^vpxdec/);
    const { frames, outBeforeNext } = await decodeOneByOne(codec, clip, 1000, clip.length);
    expect(frames).to.have.length(clip.length);
    expect(outBeforeNext).to.equal(clip.length);
    expect(frames.map((f) => f.timestamp)).to.deep.equal(clip.map((_, i) => i * 3000));
    const reference = (await decodeOneByOne(new FfmpegVideoCodec({ decoder: 'ffmpeg' }), clip, 50, 1)).frames;
    const [y, u, v] = planeMeans(frames[0]!.data, WIDTH, HEIGHT);
    const [ry, ru, rv] = planeMeans(reference[0]!.data, WIDTH, HEIGHT);
    expect([y, u, v].map((m, i) => Math.abs(m - [ry, ru, rv][i]!))).to.satisfy((d: number[]) => d.every((x) => x < 1));
  });

  it('after a lost frame, the next keyframe comes out with its own timestamp (vpxdec outputs nothing in between)', async () => {
    const gop = makeClip({ width: WIDTH, height: HEIGHT, frames: 16 }); // keyframes at 0 and 15
    expect(gop[15]![0]! & 1, 'frame 15 is a keyframe').to.equal(0);
    for (const codec of [new FfmpegVideoCodec(), new FfmpegVideoCodec({ decoder: 'ffmpeg' })]) {
      const frames: VideoFrame[] = [];
      const decoder = codec.createDecoder((frame) => frames.push(frame), () => {});
      try {
        for (let i = 0; i < 15; i++) if (i !== 3) decoder.decode(gop[i]!, i * 3000);
        await new Promise((resolve) => setTimeout(resolve, 700)); // kept: the decoder outputs nothing after the loss, so only time tells it has read frames 4-14
        decoder.decode(gop[15]!, 15 * 3000);
        decoder.decode(gop[15]!, 16 * 3000); // pushes the keyframe out of a decoder that holds one back
        await waitUntil(() => frames.some((f) => f.timestamp >= 15 * 3000), 3000, `the keyframe out of ${codec.name}`);
        const keyframe = frames.find((f) => f.timestamp >= 15 * 3000)!;
        expect(keyframe.timestamp, codec.name).to.equal(15 * 3000);
        expect(decoder.inFlight, codec.name).to.be.at.most(2);
      } finally {
        decoder.close();
      }
    }
  });
});
