import { expect } from 'chai';
import { FrameChunker } from '../../src/audio/framing.js';
import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import { pooledBytes, pooledCopy, pooledSamples } from '../../src/audio/pool.js';

describe('audio: per-frame arrays from the shared pool', () => {
  it('gives plain typed arrays (a slice copies), aligned, each its own memory', () => {
    const bytes = pooledBytes(160);
    const samples = pooledSamples(320);
    expect(Buffer.isBuffer(bytes), 'not a Buffer: its slice() would be a view').to.equal(false);
    expect(bytes).to.be.instanceOf(Uint8Array);
    expect(samples).to.be.instanceOf(Int16Array);
    expect(samples.byteOffset % 2).to.equal(0);
    bytes.fill(7);
    const copy = bytes.slice();
    copy[0] = 9;
    expect(bytes[0]).to.equal(7);
    const a = pooledCopy(Int16Array.from([1, 2, 3, 4]), 1, 3);
    const b = pooledCopy(Int16Array.from([5, 6]));
    expect([...a]).to.deep.equal([2, 3]);
    expect([...b]).to.deep.equal([5, 6]);
  });

  it('cuts frames that share a slab instead of an ArrayBuffer each, and never alias one another', () => {
    const chunker = new FrameChunker<Uint8Array>(160, 'uint8');
    const frames: Uint8Array[] = [];
    chunker.pushInto(Uint8Array.from({ length: 480 }, (_, i) => i % 251), frames);
    expect(frames).to.have.length(3);
    expect(frames[1]!.buffer, 'one slab for consecutive frames').to.equal(frames[0]!.buffer);
    expect(frames[0]!.buffer.byteLength).to.be.above(160);
    frames[0]!.fill(0);
    expect(frames[1]![0]).to.equal(160 % 251);
    expect(frames[2]![0]).to.equal(320 % 251);
  });

  it('decodes and encodes μ-law into pooled arrays when no buffer is given', () => {
    const decoded = mulawDecode(Uint8Array.from([0xff, 0x7f, 0x00]));
    const encoded = mulawEncode(Int16Array.from([0, 1000, -1000]));
    expect(decoded.buffer.byteLength).to.be.above(decoded.byteLength);
    expect(encoded.buffer.byteLength).to.be.above(encoded.byteLength);
    expect(Buffer.isBuffer(encoded)).to.equal(false);
  });
});
