import { expect } from 'chai';
import fc from 'fast-check';
import { hasDtmfTone } from '../../src/audio/dtmf-detect.js';
import { dtmfTones } from '../../src/audio/dtmf.js';
import { Limiter, MixBus, UNITY } from '../../src/rooms/mixer.js';
import { levelDbfs, SpeakingDetector } from '../../src/rooms/speaking.js';
import { VoiceBuffer } from '../../src/rooms/voice-buffer.js';
import { goertzel } from '../support/goertzel.js';

const N = 320; // 20 ms at 16 kHz

function tone(frequency: number, amplitude: number, n = N, rate = 16000, phase = 0): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * (i + phase)) / rate)));
}

describe('rooms: the integer mixer', () => {
  it('gives each listener the sum of the others and never its own voice', () => {
    const voices = [tone(500, 6000), tone(900, 6000), tone(1300, 6000)];
    const bus = new MixBus(N);
    for (const v of voices) bus.add(v);
    const out = new Int16Array(N);
    for (const [i, own] of voices.entries()) {
      new Limiter().render(bus.total, own, out);
      for (const [j, other] of voices.entries()) {
        const heard = goertzel(out, 0, N, [500, 900, 1300][j]!, 16000);
        const sent = goertzel(other, 0, N, [500, 900, 1300][j]!, 16000);
        if (i === j) expect(heard, `listener ${i} hears itself`).to.be.below(sent * 1e-6);
        else expect(heard, `listener ${i} hears ${j}`).to.be.closeTo(sent, sent * 1e-3);
      }
    }
  });

  it('is exact integer arithmetic below full scale: the sum of the others, sample for sample', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: 3 * 16, maxLength: 3 * 16 }), (values) => {
        const voices = [0, 1, 2].map((k) => Int16Array.from(values.slice(k * 16, k * 16 + 16)));
        const bus = new MixBus(16);
        for (const v of voices) bus.add(v);
        const out = new Int16Array(16);
        new Limiter().render(bus.total, voices[0], out);
        for (let i = 0; i < 16; i++) if (out[i] !== voices[1]![i]! + voices[2]![i]!) return false;
        return true;
      }),
    );
  });

  it('never clips or wraps when ten full-scale voices add up, and comes back to unity gain afterwards', () => {
    const limiter = new Limiter();
    const out = new Int16Array(N);
    const bus = new MixBus(N);
    for (let frame = 0; frame < 20; frame++) {
      bus.clear();
      for (let k = 0; k < 10; k++) bus.add(tone(300 + 10 * k, 32000, N, 16000, frame * N));
      limiter.render(bus.total, undefined, out);
      for (let i = 0; i < N; i++) {
        const v = out[i]!;
        expect(Math.abs(v)).to.be.at.most(32767);
        // No wrap-around: the output keeps the sign of the sum it stands for.
        if (bus.total[i]! > 1000) expect(v).to.be.above(0);
        if (bus.total[i]! < -1000) expect(v).to.be.below(0);
      }
    }
    expect(limiter.limitedFrames).to.be.at.least(10);
    for (let frame = 0; frame < 60; frame++) {
      bus.clear();
      bus.add(tone(440, 8000, N, 16000, frame * N));
      limiter.render(bus.total, undefined, out);
    }
    expect(limiter.gain).to.equal(UNITY);
  });

  it('keeps any mix inside 16 bits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 10 * 8, maxLength: 10 * 8 }), fc.integer({ min: 0, max: 9 }), (values, own) => {
        const voices = Array.from({ length: 10 }, (_, k) => Int16Array.from(values.slice(k * 8, k * 8 + 8)));
        const bus = new MixBus(8);
        for (const v of voices) bus.add(v);
        const out = new Int16Array(8);
        const limiter = new Limiter();
        limiter.render(bus.total, voices[own], out);
        for (let i = 0; i < 8; i++) {
          const exact = bus.total[i]! - voices[own]![i]!;
          if (Math.sign(out[i]!) !== Math.sign(exact) && Math.abs(exact) > 10 && out[i] !== 0) return false;
          if (Math.abs(out[i]!) > Math.abs(exact)) return false;
        }
        return true;
      }),
    );
  });
});

describe('rooms: a participant\'s voice buffer', () => {
  it('hands out one frame per tick, holds a burst at most maxFrames, and trims a standing backlog back to one frame', () => {
    const buffer = new VoiceBuffer(4, 3, 5);
    const out = new Int16Array(4);
    expect(buffer.take(out)).to.equal(false);
    buffer.push(Int16Array.from([1, 2, 3, 4, 5, 6]));
    expect(buffer.take(out)).to.equal(true);
    expect([...out]).to.deep.equal([1, 2, 3, 4]);
    expect(buffer.take(out)).to.equal(false);
    buffer.push(Int16Array.from({ length: 20 }, (_, i) => 100 + i)); // a burst: 2 + 20 samples waiting, the newest 12 kept
    expect(buffer.size).to.equal(12);
    expect(buffer.take(out)).to.equal(true);
    expect([...out]).to.deep.equal([108, 109, 110, 111]);
    // A steady sender with two frames standing: trimmed after 5 deep ticks.
    let depthAfter = 0;
    for (let t = 0; t < 12; t++) {
      buffer.push(new Int16Array(4).fill(t));
      buffer.take(out);
      depthAfter = buffer.size;
    }
    expect(depthAfter).to.be.at.most(4);
    expect(buffer.dropped).to.be.above(0);
  });
});

describe('rooms: speaking and key tones', () => {
  it('starts speaking after two loud frames and stops after the hang time', () => {
    const detector = new SpeakingDetector({ hangFrames: 3 });
    expect(detector.update(tone(300, 5000))).to.equal(undefined);
    expect(detector.update(tone(300, 5000))).to.equal(true);
    expect(detector.update(new Int16Array(N))).to.equal(undefined);
    expect(detector.update(undefined)).to.equal(undefined);
    expect(detector.update(new Int16Array(N))).to.equal(false);
    expect(levelDbfs(tone(300, 32767 / 10))).to.be.closeTo(-23, 0.2);
  });

  it('finds key tones at 8 and 16 kHz, and not in tones or noise', () => {
    for (const rate of [8000, 16000]) {
      const n = rate / 50;
      for (const digit of '0123456789*#') {
        const tones = dtmfTones(digit, rate, { toneMs: 100, gapMs: 0 });
        expect(hasDtmfTone(tones.subarray(n, 2 * n), rate), `${digit} at ${rate}`).to.equal(true);
      }
      expect(hasDtmfTone(tone(440, 8000, n, rate), rate)).to.equal(false);
      expect(hasDtmfTone(tone(700, 8000, n, rate), rate)).to.equal(false);
      let seed = 1;
      const noise = Int16Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 16000) - 8000);
      expect(hasDtmfTone(noise, rate)).to.equal(false);
      expect(hasDtmfTone(new Int16Array(n), rate)).to.equal(false);
    }
  });
});
