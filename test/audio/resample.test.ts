import { expect } from 'chai';
import { Resampler, resampleOnce, type ResamplerOptions } from '../../src/audio/resample.js';

// ---------------------------------------------------------------------------------------------
// Signal helpers
// ---------------------------------------------------------------------------------------------

function tone(freq: number, rate: number, length: number, amplitude: number): Int16Array {
  return Int16Array.from({ length }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate)));
}

/** Deterministic speech-like test signal: a few tones plus white noise. */
function testSignal(rate: number, length: number, seed = 1): Int16Array {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Int16Array.from({ length }, (_, i) => {
    const t = i / rate;
    const v = 6000 * Math.sin(2 * Math.PI * 300 * t) + 4000 * Math.sin(2 * Math.PI * 1234.5 * t + 1);
    return Math.round(v + 3000 * Math.sin(2 * Math.PI * 3300 * t) + (random() - 0.5) * 8000);
  });
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Feeds `input` in chunks (cycling through `sizes`), then flushes; returns everything produced. */
function feed(resampler: Resampler, input: Int16Array, sizes: number[] = [input.length]): Int16Array {
  const parts: Int16Array[] = [];
  for (let at = 0, k = 0; at < input.length; k++) {
    const size = Math.max(1, sizes[k % sizes.length]);
    parts.push(resampler.process(input.subarray(at, at + size)).slice()); // views: copy them
    at += size;
  }
  parts.push(resampler.flush().slice());
  return concat(parts);
}

function rms(x: Int16Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / (to - from));
}

const dB = (ratio: number): number => 20 * Math.log10(ratio);

/** Least-squares fit of a sinusoid at `freq` to x[from..to): its amplitude and the RMS left over. */
function fitTone(x: Int16Array, freq: number, rate: number, from: number, to: number): { amplitude: number; residual: number } {
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    const s = Math.sin(w);
    const c = Math.cos(w);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[i] * s;
    xc += x[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  let residual = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    residual += (x[i] - a * Math.sin(w) - b * Math.cos(w)) ** 2;
  }
  return { amplitude: Math.hypot(a, b), residual: Math.sqrt(residual / (to - from)) };
}

const toneAmplitude = (x: Int16Array, freq: number, rate: number, from: number, to: number): number =>
  fitTone(x, freq, rate, from, to).amplitude;

/** Frequency from the interpolated positions of the first and last upward zero crossings. */
function zeroCrossingFrequency(x: Int16Array, rate: number, from: number, to: number): number {
  const crossings: number[] = [];
  for (let i = from; i + 1 < to; i++) {
    if (x[i] < 0 && x[i + 1] >= 0) crossings.push(i + x[i] / (x[i] - x[i + 1]));
  }
  expect(crossings.length).to.be.greaterThan(10);
  return ((crossings.length - 1) * rate) / (crossings[crossings.length - 1] - crossings[0]);
}

const PAIRS: [number, number][] = [
  [8000, 16000],
  [16000, 8000],
  [8000, 24000],
  [8000, 44100],
  [44100, 16000],
  [48000, 8000],
];

// ---------------------------------------------------------------------------------------------

describe('audio/resample', () => {
  describe('upsampling a 1 kHz tone from 8 kHz', () => {
    for (const rate of [16000, 24000, 44100, 48000]) {
      it(`to ${rate} Hz keeps its frequency and amplitude`, () => {
        const input = tone(1000, 8000, 4000, 16000); // 0.5 s
        const r = new Resampler(8000, rate);
        const out = r.process(input).slice();
        expect(out.length).to.equal(Math.ceil((input.length * rate) / 8000));
        const from = 2 * r.delaySamples;
        const freq = zeroCrossingFrequency(out, rate, from, out.length);
        expect(freq).to.be.closeTo(1000, 0.5);
        const gain = dB(toneAmplitude(out, 1000, rate, from, out.length) / 16000);
        expect(Math.abs(gain)).to.be.lessThan(0.1, `gain ${gain.toFixed(3)} dB`);
      });
    }
  });

  describe('streaming', () => {
    for (const [from, to] of PAIRS) {
      it(`${from} → ${to}: chunked output is bit-identical to one-piece output`, () => {
        const input = testSignal(from, from / 4);
        const whole = feed(new Resampler(from, to), input);
        expect(whole.length).to.equal(Math.ceil((input.length * to) / from) + new Resampler(from, to).delaySamples);
        for (const sizes of [[1], [7], [160], [333], [1, 160, 7, 0, 333, 2]]) {
          const chunked = feed(new Resampler(from, to), input, sizes);
          expect(chunked.length).to.equal(whole.length, `chunks ${sizes.join(',')}`);
          const diff = chunked.findIndex((v, i) => v !== whole[i]);
          expect(diff).to.equal(-1, `chunks ${sizes.join(',')} differ at ${diff}`);
        }
      });
    }

    it('treats a long buffer in one call like 20 ms chunks (it is sliced internally)', () => {
      const input = testSignal(8000, 80000, 3); // 10 s
      const whole = feed(new Resampler(8000, 48000), input);
      const chunked = feed(new Resampler(8000, 48000), input, [160]);
      expect(whole.length).to.equal(480000 + new Resampler(8000, 48000).delaySamples);
      expect(chunked.findIndex((v, i) => v !== whole[i])).to.equal(-1);
    });

    it('gives the same output with and without the SIMD kernel', () => {
      for (const [from, to] of PAIRS) {
        const input = testSignal(from, from / 10, 7);
        const simd = feed(new Resampler(from, to), input, [160]);
        const js = feed(new Resampler(from, to, { simd: false }), input, [160]);
        expect(js.findIndex((v, i) => v !== simd[i])).to.equal(-1, `${from} → ${to}`);
      }
    });

    it('keeps instances independent, and reset() equals a fresh instance', () => {
      const input = testSignal(8000, 1600);
      const a = new Resampler(8000, 16000);
      const b = new Resampler(8000, 16000);
      const alone = feed(new Resampler(8000, 16000), input, [160]);
      const parts: Int16Array[] = [];
      for (let at = 0; at < input.length; at += 160) {
        b.process(testSignal(8000, 160, at)); // interleaved work on another stream
        parts.push(a.process(input.subarray(at, at + 160)).slice());
      }
      parts.push(a.flush().slice());
      expect(Array.from(concat(parts))).to.deep.equal(Array.from(alone));

      b.reset();
      expect(Array.from(feed(b, input, [160]))).to.deep.equal(Array.from(alone));
    });

    it('flush() returns exactly the delayed tail and resets', () => {
      const r = new Resampler(16000, 8000);
      const input = testSignal(16000, 3200);
      const first = feed(r, input, [320]);
      expect(first.length).to.equal(1600 + r.delaySamples);
      expect(Array.from(feed(r, input, [320]))).to.deep.equal(Array.from(first));
    });

    it('tracks input length × ratio over 60 s of 20 ms chunks (no drift)', () => {
      for (const [from, to] of [[8000, 44100], [44100, 8000], [16000, 8000], [8000, 48000]]) {
        const r = new Resampler(from, to, { quality: 'fast' });
        const frame = testSignal(from, from / 50);
        let consumed = 0;
        let produced = 0;
        let worst = 0;
        for (let k = 0; k < 3000; k++) {
          produced += r.process(frame).length;
          consumed += frame.length;
          worst = Math.max(worst, Math.abs(produced - (consumed * to) / from));
        }
        expect(worst, `${from} → ${to}`).to.be.at.most(1);
        expect(produced).to.equal(60 * to);
      }
    });

    it('reports the group delay: an impulse comes out at delaySamples', () => {
      for (const [from, to] of PAIRS) {
        const r = new Resampler(from, to);
        const impulse = new Int16Array(from / 20);
        impulse[0] = 20000;
        const out = feed(r, impulse);
        let peak = 0;
        for (let i = 1; i < out.length; i++) if (out[i] > out[peak]) peak = i;
        expect(peak, `${from} → ${to}`).to.equal(r.delaySamples);
      }
    });
  });

  describe('filtering', () => {
    it('passes a 3.5 kHz tone from 16 kHz to 8 kHz', () => {
      const r = new Resampler(16000, 8000);
      const out = r.process(tone(3500, 16000, 8000, 20000)).slice();
      const gain = dB(toneAmplitude(out, 3500, 8000, 2 * r.delaySamples, out.length) / 20000);
      expect(Math.abs(gain)).to.be.lessThan(0.5, `gain ${gain.toFixed(3)} dB`);
    });

    it('rejects a 6 kHz tone from 16 kHz to 8 kHz by at least 60 dB (no alias at 2 kHz)', () => {
      const r = new Resampler(16000, 8000);
      const input = tone(6000, 16000, 8000, 30000);
      const out = r.process(input).slice();
      const rejection = -dB(rms(out, 2 * r.delaySamples, out.length) / rms(input, 0, input.length));
      expect(rejection).to.be.at.least(60);
    });

    it('rejects everything above the output Nyquist frequency when downsampling', () => {
      const cases: [number, number, number[]][] = [
        [16000, 8000, [4100, 4500, 5000, 7000, 7900]],
        [48000, 8000, [4200, 6000, 10000, 20000, 23000]],
        [44100, 16000, [8300, 12000, 21000]],
      ];
      for (const [from, to, freqs] of cases) {
        for (const freq of freqs) {
          const r = new Resampler(from, to);
          const input = tone(freq, from, from / 5, 30000);
          const out = r.process(input).slice();
          const rejection = -dB(rms(out, 2 * r.delaySamples, out.length) / rms(input, 0, input.length));
          expect(rejection, `${freq} Hz, ${from} → ${to}`).to.be.at.least(60);
        }
      }
    });

    it('leaves no image above the input Nyquist frequency when upsampling', () => {
      for (const [to, freq] of [[16000, 3000], [16000, 3500], [48000, 2000], [44100, 3400]]) {
        const r = new Resampler(8000, to);
        const input = tone(freq, 8000, 2000, 30000);
        const out = r.process(input).slice();
        const from = 2 * r.delaySamples;
        // What is left after removing the tone itself (least squares) is image + rounding noise.
        const { amplitude, residual } = fitTone(out, freq, to, from, out.length);
        const leak = dB(residual / (amplitude / Math.SQRT2));
        expect(leak, `${freq} Hz, 8000 → ${to}`).to.be.at.most(-60);
      }
    });

    it("'fast' quality still passes speech and rejects aliases by 45 dB", () => {
      const r = new Resampler(16000, 8000, { quality: 'fast' });
      expect(r.delaySamples).to.be.lessThan(new Resampler(16000, 8000).delaySamples);
      const speech = r.process(tone(1000, 16000, 8000, 20000)).slice();
      const gain = dB(toneAmplitude(speech, 1000, 8000, 2 * r.delaySamples, speech.length) / 20000);
      expect(Math.abs(gain)).to.be.lessThan(0.1);
      const alias = new Resampler(16000, 8000, { quality: 'fast' });
      const input = tone(6000, 16000, 8000, 30000);
      const out = alias.process(input).slice();
      expect(-dB(rms(out, 2 * alias.delaySamples, out.length) / rms(input, 0, input.length))).to.be.at.least(45);
    });

    it('saturates instead of wrapping around on a full-scale square wave', () => {
      for (const [from, to] of [[8000, 16000], [16000, 8000], [8000, 44100]]) {
        for (const options of [{}, { simd: false }]) {
          const label = `${from} → ${to}${options.simd === false ? ' (js)' : ''}`;
          const square = (amplitude: number): Int16Array =>
            Int16Array.from({ length: from / 4 }, (_, i) => (i % 16 < 8 ? amplitude : -amplitude));
          // The filter is linear: the full-scale output is twice the half-scale one, clamped.
          const half = feed(new Resampler(from, to, options), square(16384));
          const full = feed(new Resampler(from, to, options), square(32767));
          let clipped = 0;
          let worst = 0;
          for (let i = 0; i < half.length; i++) {
            const ideal = (half[i] * 32767) / 16384;
            if (Math.abs(ideal) > 32767) clipped++;
            const expected = Math.max(-32768, Math.min(32767, ideal));
            worst = Math.max(worst, Math.abs(full[i] - expected));
          }
          expect(clipped, `${label} overshoots`).to.be.greaterThan(0);
          expect(worst, label).to.be.at.most(3);
        }
      }
    });
  });

  describe('equal rates', () => {
    it('passes the input through unchanged', () => {
      const r = new Resampler(16000, 16000);
      const input = testSignal(16000, 320);
      expect(r.process(input)).to.equal(input);
      expect(r.delaySamples).to.equal(0);
      expect(r.flush().length).to.equal(0);
      const copy = resampleOnce(input, 16000, 16000);
      expect(copy).to.not.equal(input);
      expect(Array.from(copy)).to.deep.equal(Array.from(input));
    });
  });

  describe('resampleOnce', () => {
    for (const [from, to] of [[8000, 16000], [16000, 8000], [8000, 48000], [8000, 44100], [44100, 8000]]) {
      it(`${from} → ${to}: is time-aligned and has length round(n·out/in)`, () => {
        const n = from / 2 + 3;
        const freq = 440;
        const out = resampleOnce(tone(freq, from, n, 10000), from, to);
        expect(out.length).to.equal(Math.round((n * to) / from));
        const margin = Math.ceil(to / 100); // skip 10 ms at each end (filter edge effects)
        let worst = 0;
        for (let i = margin; i < out.length - margin; i++) {
          worst = Math.max(worst, Math.abs(out[i] - 10000 * Math.sin((2 * Math.PI * freq * i) / to)));
        }
        expect(worst).to.be.lessThan(10);
      });
    }
  });

  describe('construction', () => {
    it('validates rates and quality', () => {
      expect(() => new Resampler(0, 8000)).to.throw(RangeError);
      expect(() => new Resampler(8000, 16000.5)).to.throw(RangeError);
      expect(() => new Resampler(8000, -16000)).to.throw(RangeError);
      const bogus = { quality: 'best' } as unknown as ResamplerOptions;
      expect(() => new Resampler(8000, 16000, bogus)).to.throw(RangeError);
    });

    it('exposes its rates and shares filter banks between instances (cheap to create)', () => {
      const first = new Resampler(8000, 44100);
      expect(first.inputRate).to.equal(8000);
      expect(first.outputRate).to.equal(44100);
      const started = process.hrtime.bigint();
      for (let i = 0; i < 500; i++) new Resampler(8000, 44100).process(new Int16Array(160));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(ms).to.be.lessThan(250);
    });
  });
});
