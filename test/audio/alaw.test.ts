import { expect } from 'chai';
import { ALAW_SILENCE, alawDecode, alawDecodeSample, alawEncode, alawEncodeSample } from '../../src/audio/alaw.js';

// An independent reference: the Sun/CCITT g711.c A-law algorithm as published (a segment search over
// the 13-bit magnitude, no tables), written from the G.711 description rather than from src/.
const SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function referenceEncode(pcm: number): number {
  let value = pcm >> 3;
  let mask: number;
  if (value >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    value = -value - 1;
  }
  let seg = 0;
  while (seg < 8 && value > SEG_END[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (value >> 1) & 0x0f : (value >> seg) & 0x0f);
  return aval ^ mask;
}

function referenceDecode(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

describe('audio/alaw', () => {
  it('decodes and encodes known values', () => {
    expect(alawDecodeSample(0xd5)).to.equal(8);
    expect(alawDecodeSample(0x55)).to.equal(-8);
    expect(alawDecodeSample(0xaa)).to.equal(32256);
    expect(alawDecodeSample(0x2a)).to.equal(-32256);
    expect(alawEncodeSample(0)).to.equal(0xd5);
    expect(alawEncodeSample(-1)).to.equal(0x55);
    expect(alawEncodeSample(32767)).to.equal(0xaa);
    expect(alawEncodeSample(-32768)).to.equal(0x2a);
    expect(alawEncodeSample(90000)).to.equal(0xaa, 'clamps beyond int16');
    expect(ALAW_SILENCE).to.equal(alawEncodeSample(0));
  });

  it('decodes all 256 bytes like the reference', () => {
    const decoded = alawDecode(new Uint8Array(256).map((_, i) => i));
    for (let b = 0; b < 256; b++) {
      expect(decoded[b], `byte 0x${b.toString(16)}`).to.equal(referenceDecode(b));
      expect(alawDecodeSample(b), `scalar 0x${b.toString(16)}`).to.equal(referenceDecode(b));
    }
  });

  it('encodes all 65536 int16 values like the reference', () => {
    const all = new Int16Array(65536).map((_, i) => i - 32768);
    const encoded = alawEncode(all);
    let mismatches = 0;
    let first = '';
    for (let i = 0; i < all.length; i++) {
      const want = referenceEncode(all[i]!);
      if (encoded[i] !== want || alawEncodeSample(all[i]!) !== want) {
        if (mismatches++ === 0) first = `${all[i]}: got 0x${encoded[i]!.toString(16)}, want 0x${want.toString(16)}`;
      }
    }
    expect(mismatches, first).to.equal(0);
  });

  it('gives back every byte after decoding and encoding it (a transport may decode and re-encode)', () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    expect(Array.from(alawEncode(alawDecode(bytes)))).to.deep.equal(Array.from(bytes));
  });

  it('handles empty input and views with an offset', () => {
    expect(alawDecode(new Uint8Array(0)).length).to.equal(0);
    expect(alawEncode(new Int16Array(0)).length).to.equal(0);
    const backing = Uint8Array.of(0x11, 0xd5, 0x55, 0x22);
    expect(Array.from(alawDecode(backing.subarray(1, 3)))).to.deep.equal([8, -8]);
  });
});
