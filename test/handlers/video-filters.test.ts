import { expect } from 'chai';
import { flip, invert } from '../../handlers/index.js';
import { i420Size, type VideoFrame } from '../../src/video/frame.js';

function frameOf(width: number, height: number, byteOffset = 0): VideoFrame {
  const size = i420Size(width, height);
  const backing = new Uint8Array(size + byteOffset);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 37 + 11) & 255;
  return { width, height, format: 'i420', data: backing.subarray(byteOffset), timestamp: 7 };
}

/** The definition, one byte at a time. */
function invertReference(frame: VideoFrame): Uint8Array {
  const luma = frame.width * frame.height;
  return frame.data.map((v, i) => (i < luma ? Math.max(0, 251 - v) : Math.min(255, 256 - v)));
}

describe('video filters (the demo handlers)', () => {
  for (const [width, height, offset] of [[640, 480, 0], [640, 480, 1], [33, 17, 0], [7, 5, 1]] as const) {
    it(`invert matches its per-byte definition (${width}x${height}, data at offset ${offset})`, () => {
      const frame = frameOf(width, height, offset);
      const out = invert(frame);
      expect(out.data).to.deep.equal(invertReference(frame));
      expect(out).to.include({ width, height, format: 'i420', timestamp: 7 });
    });
  }

  it('invert twice gives back every value the limited range holds', () => {
    const frame = frameOf(64, 48);
    const luma = 64 * 48;
    for (let i = 0; i < frame.data.length; i++) frame.data[i] = i < luma ? 16 + (i % 220) : 16 + (i % 225);
    expect(invert(invert(frame)).data).to.deep.equal(frame.data);
  });

  it('flip twice is the identity', () => {
    const frame = frameOf(33, 17);
    expect(flip(flip(frame)).data).to.deep.equal(frame.data);
  });
});
