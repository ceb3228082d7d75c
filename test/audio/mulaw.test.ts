import { expect } from 'chai';
import {
  MULAW_SILENCE,
  mulawDecode,
  mulawDecodeSample,
  mulawEncode,
  mulawEncodeSample,
} from '../../src/audio/mulaw.js';

// An independent reference: the Sun/CCITT g711.c algorithm as published (segment search over the
// biased magnitude, no lookup tables), written from the G.711 formula rather than from src/.
const BIAS = 0x84;
const SEG_END = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];

function referenceEncode(pcm: number): number {
  let value: number;
  let mask: number;
  if (pcm < 0) {
    value = BIAS - pcm;
    mask = 0x7f;
  } else {
    value = pcm + BIAS;
    mask = 0xff;
  }
  let seg = 0;
  while (seg < 8 && value > SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask; // beyond 32635: the largest code
  return ((seg << 4) | ((value >> (seg + 3)) & 0x0f)) ^ mask;
}

function referenceDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? BIAS - t : t - BIAS;
}

function allInt16(): Int16Array {
  const all = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) all[i] = i - 32768;
  return all;
}

describe('audio/mulaw', () => {
  it('decodes known values', () => {
    expect(mulawDecodeSample(0xff)).to.equal(0);
    expect(mulawDecodeSample(0x7f)).to.equal(0);
    expect(Object.is(mulawDecodeSample(0x7f), 0)).to.equal(true, 'no negative zero');
    expect(mulawDecodeSample(0x00)).to.equal(-32124);
    expect(mulawDecodeSample(0x80)).to.equal(32124);
    expect(mulawDecodeSample(0xf0)).to.equal(120);
    expect(mulawDecodeSample(0x70)).to.equal(-120);
    expect(mulawDecodeSample(0xce)).to.equal(988);
    expect(Array.from(mulawDecode(Uint8Array.of(0xff, 0x00, 0x80, 0xf0, 0xfe)))).to.deep.equal([
      0, -32124, 32124, 120, 8,
    ]);
  });

  it('encodes known values', () => {
    expect(mulawEncodeSample(0)).to.equal(0xff);
    expect(mulawEncodeSample(-1)).to.equal(0x7f);
    expect(mulawEncodeSample(1000)).to.equal(0xce);
    expect(mulawEncodeSample(32767)).to.equal(0x80);
    expect(mulawEncodeSample(32635)).to.equal(0x80);
    expect(mulawEncodeSample(-32768)).to.equal(0x00);
    expect(mulawEncodeSample(40000)).to.equal(0x80, 'clamps beyond int16');
    expect(MULAW_SILENCE).to.equal(0xff);
    expect(mulawDecodeSample(MULAW_SILENCE)).to.equal(0);
  });

  it('decodes all 256 bytes like the reference', () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const decoded = mulawDecode(bytes);
    for (let b = 0; b < 256; b++) {
      expect(decoded[b], `byte 0x${b.toString(16)}`).to.equal(referenceDecode(b));
      expect(mulawDecodeSample(b), `scalar 0x${b.toString(16)}`).to.equal(referenceDecode(b));
    }
  });

  it('encodes all 65536 int16 values like the reference', () => {
    const all = allInt16();
    const encoded = mulawEncode(all);
    let mismatches = 0;
    let first = '';
    for (let i = 0; i < all.length; i++) {
      const want = referenceEncode(all[i]);
      if (encoded[i] !== want || mulawEncodeSample(all[i]) !== want) {
        if (mismatches++ === 0) first = `${all[i]}: got 0x${encoded[i].toString(16)}, want 0x${want.toString(16)}`;
      }
    }
    expect(mismatches, first).to.equal(0);
  });

  it('round-trips every byte except 0x7f (negative zero, which encodes back as 0xff)', () => {
    for (let b = 0; b < 256; b++) {
      const back = mulawEncodeSample(mulawDecodeSample(b));
      expect(back, `byte 0x${b.toString(16)}`).to.equal(b === 0x7f ? 0xff : b);
    }
  });

  it('writes into a given output buffer and returns a view of the right length', () => {
    const bytes = Uint8Array.of(0x00, 0x80, 0xff);
    const pcmOut = new Int16Array(8).fill(7);
    const pcm = mulawDecode(bytes, pcmOut);
    expect(pcm.length).to.equal(3);
    expect(pcm.buffer).to.equal(pcmOut.buffer);
    expect(pcm.byteOffset).to.equal(0);
    expect(Array.from(pcmOut)).to.deep.equal([-32124, 32124, 0, 7, 7, 7, 7, 7]);
    const exact = new Int16Array(3);
    expect(mulawDecode(bytes, exact)).to.equal(exact);

    const byteOut = new Uint8Array(5).fill(1);
    const encoded = mulawEncode(Int16Array.of(0, -32768, 32767), byteOut);
    expect(encoded.length).to.equal(3);
    expect(encoded.buffer).to.equal(byteOut.buffer);
    expect(Array.from(byteOut)).to.deep.equal([0xff, 0x00, 0x80, 1, 1]);
    const exactBytes = new Uint8Array(3);
    expect(mulawEncode(Int16Array.of(1, 2, 3), exactBytes)).to.equal(exactBytes);
  });

  it('rejects an output buffer that is too short', () => {
    expect(() => mulawDecode(new Uint8Array(4), new Int16Array(3))).to.throw(RangeError);
    expect(() => mulawEncode(new Int16Array(4), new Uint8Array(3))).to.throw(RangeError);
  });

  it('handles empty input and views with an offset', () => {
    expect(mulawDecode(new Uint8Array(0)).length).to.equal(0);
    expect(mulawEncode(new Int16Array(0)).length).to.equal(0);
    const backing = Uint8Array.of(0x11, 0x00, 0x80, 0x22);
    expect(Array.from(mulawDecode(backing.subarray(1, 3)))).to.deep.equal([-32124, 32124]);
  });
});
