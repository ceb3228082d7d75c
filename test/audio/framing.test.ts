import { expect } from 'chai';
import { bytesLEToPcm, FrameChunker, pcmToBytesLE, samplesPerFrame } from '../../src/audio/framing.js';

function ramp(start: number, length: number): Int16Array {
  return Int16Array.from({ length }, (_, i) => start + i);
}

describe('audio/framing', () => {
  describe('samplesPerFrame', () => {
    it('computes samples per 20 ms by default', () => {
      expect(samplesPerFrame(8000)).to.equal(160);
      expect(samplesPerFrame(16000)).to.equal(320);
      expect(samplesPerFrame(24000)).to.equal(480);
      expect(samplesPerFrame(44100)).to.equal(882);
      expect(samplesPerFrame(48000)).to.equal(960);
      expect(samplesPerFrame(48000, 10)).to.equal(480);
    });

    it('rejects durations that are not a whole number of samples', () => {
      expect(() => samplesPerFrame(11025)).to.throw(RangeError);
      expect(() => samplesPerFrame(8000, 0)).to.throw(RangeError);
    });
  });

  describe('FrameChunker', () => {
    it('yields whole frames across odd splits, in order', () => {
      const chunker = new FrameChunker<Int16Array>(160, 'int16');
      const sizes = [1, 7, 333, 0, 50, 159, 1, 500, 2];
      const frames: Int16Array[] = [];
      let next = 0;
      for (const size of sizes) {
        frames.push(...chunker.push(ramp(next, size)));
        next += size;
        expect(chunker.pending()).to.equal(next % 160);
      }
      expect(frames.length).to.equal(Math.floor(next / 160));
      frames.forEach((frame, f) => {
        expect(frame).to.be.instanceOf(Int16Array);
        expect(frame.length).to.equal(160);
        expect(Array.from(frame)).to.deep.equal(Array.from(ramp(f * 160, 160)), `frame ${f}`);
      });
    });

    it('returns frames that are independent copies', () => {
      const chunker = new FrameChunker<Int16Array>(4, 'int16');
      const input = ramp(1, 10);
      const [a, b] = chunker.push(input);
      input.fill(0);
      const [c] = chunker.push(ramp(100, 6)); // completes a frame from the held samples
      expect(Array.from(a)).to.deep.equal([1, 2, 3, 4]);
      expect(Array.from(b)).to.deep.equal([5, 6, 7, 8]);
      expect(Array.from(c)).to.deep.equal([9, 10, 100, 101]);
      expect(a.buffer).to.not.equal(input.buffer);
      expect(c.buffer).to.not.equal(b.buffer);
    });

    it('flushes the remainder padded to a full frame, then is empty', () => {
      const pcm = new FrameChunker<Int16Array>(5, 'int16');
      expect(pcm.flush()).to.equal(undefined);
      pcm.push(Int16Array.of(-3, 4));
      expect(Array.from(pcm.flush() ?? [])).to.deep.equal([-3, 4, 0, 0, 0]);
      expect(pcm.pending()).to.equal(0);
      expect(pcm.flush()).to.equal(undefined);
      pcm.push(Int16Array.of(9));
      expect(Array.from(pcm.flush(-1) ?? [])).to.deep.equal([9, -1, -1, -1, -1]);

      const mulaw = new FrameChunker<Uint8Array>(4, 'uint8');
      mulaw.push(Uint8Array.of(0x10, 0x20, 0x30, 0x40, 0x50));
      const last = mulaw.flush();
      expect(last).to.be.instanceOf(Uint8Array);
      expect(Array.from(last ?? [])).to.deep.equal([0x50, 0xff, 0xff, 0xff]);
    });

    it('clears held samples', () => {
      const chunker = new FrameChunker<Uint8Array>(3, 'uint8');
      chunker.push(Uint8Array.of(1, 2));
      chunker.clear();
      expect(chunker.pending()).to.equal(0);
      expect(Array.from(chunker.push(Uint8Array.of(7, 8, 9))[0])).to.deep.equal([7, 8, 9]);
    });

    it('rejects a non-positive frame size', () => {
      expect(() => new FrameChunker<Int16Array>(0, 'int16')).to.throw(RangeError);
    });
  });

  describe('PCM bytes', () => {
    it('writes 16-bit little-endian bytes', () => {
      const bytes = pcmToBytesLE(Int16Array.of(1, -2, 0x1234, -32768, 32767));
      expect(Buffer.isBuffer(bytes)).to.equal(true);
      expect(Array.from(bytes)).to.deep.equal([0x01, 0x00, 0xfe, 0xff, 0x34, 0x12, 0x00, 0x80, 0xff, 0x7f]);
    });

    it('copies rather than sharing the samples memory', () => {
      const samples = Int16Array.of(5, 6);
      const bytes = pcmToBytesLE(samples);
      samples[0] = 0;
      expect(bytes[0]).to.equal(5);
    });

    it('round-trips, including from an odd byteOffset', () => {
      const samples = Int16Array.from({ length: 101 }, (_, i) => (i * 1237) % 65536 - 32768);
      const bytes = pcmToBytesLE(samples);
      expect(Array.from(bytesLEToPcm(bytes))).to.deep.equal(Array.from(samples));

      const backing = new Uint8Array(bytes.length + 1);
      backing.set(bytes, 1);
      const odd = backing.subarray(1);
      expect(odd.byteOffset % 2).to.equal(1);
      const decoded = bytesLEToPcm(odd);
      expect(Array.from(decoded)).to.deep.equal(Array.from(samples));
    });

    it('decodes known bytes, sharing memory when aligned', () => {
      const aligned = Uint8Array.of(0x00, 0x00, 0x01, 0x00, 0xfe, 0xff);
      const view = bytesLEToPcm(aligned.subarray(2));
      expect(Array.from(view)).to.deep.equal([1, -2]);
      expect(view.buffer).to.equal(aligned.buffer);
    });

    it('rejects an odd number of bytes', () => {
      expect(() => bytesLEToPcm(new Uint8Array(3))).to.throw(RangeError);
    });
  });
});
