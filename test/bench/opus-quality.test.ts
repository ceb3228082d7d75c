import { expect } from 'chai';
import { delayOf, quality } from '../../bench/opus-quality.js';

/** Two seconds of a voiced-like 48 kHz signal: harmonics of a gliding pitch under a slow envelope, seeded noise. */
function voiced(seconds = 2): Int16Array {
  const out = new Int16Array(48000 * seconds);
  let phase = 0;
  let state = 1;
  for (let i = 0; i < out.length; i++) {
    const t = i / 48000;
    phase += (2 * Math.PI * (120 + 40 * Math.sin(2 * Math.PI * 0.7 * t))) / 48000;
    let sample = 0;
    for (let h = 1; h <= 30; h++) sample += Math.sin(h * phase) / h;
    state = (state * 1664525 + 1013904223) >>> 0;
    out[i] = Math.round((0.6 + 0.4 * Math.sin(2 * Math.PI * 1.5 * t)) * (4000 * sample + 200 * (state / 2 ** 32 - 0.5)));
  }
  return out;
}

function withNoise(signal: Int16Array, dbfs: number, seed = 9): Int16Array {
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  let state = seed;
  return signal.map((x) => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return Math.max(-32768, Math.min(32767, x + Math.round(((state / 2 ** 32) * 2 - 1) * amplitude)));
  });
}

describe('bench Opus quality measure (mel-cepstral and log-spectral distance)', () => {
  const original = voiced();

  it('is zero for the signal itself and finds a delay by cross-correlation', () => {
    const same = quality(original, original);
    expect(same.mcdDb).to.equal(0);
    expect(same.lsdDb).to.equal(0);
    const delayed = new Int16Array(original.length + 312);
    delayed.set(original, 312);
    expect(delayOf(original, delayed)).to.equal(312);
    expect(quality(original, delayed).mcdDb).to.be.below(1e-9);
  });

  it('grows with the distortion, ignores loudness, and does not count what lies 50 dB below the frame', () => {
    const light = quality(original, withNoise(original, -50), { delay: 0 });
    const heavy = quality(original, withNoise(original, -30), { delay: 0 });
    expect(light.mcdDb).to.be.above(0);
    expect(heavy.mcdDb).to.be.above(light.mcdDb);
    expect(heavy.lsdDb).to.be.above(light.lsdDb);
    const quieter = quality(original, original.map((x) => Math.round(x / 2)), { delay: 0 });
    expect(quieter.mcdDb).to.be.below(0.1);
    const faint = quality(original, withNoise(original, -90), { delay: 0 });
    expect(faint.mcdDb).to.be.below(light.mcdDb / 50);
  });
});
