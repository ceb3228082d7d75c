/**
 * Integer mixing for rooms: frames of 16-bit PCM are summed into a 32-bit bus, each listener gets
 * the bus minus its own voice, and a limiter brings a sum that would clip back under full scale.
 * Nothing here knows sessions or transports.
 */

/** Unity gain in Q15. */
export const UNITY = 32768;
const FULL_SCALE = 32767;
/** How fast the limiter lets go after a loud passage: back to unity from half gain in about 25 frames (0.5 s). */
const RELEASE_PER_FRAME = 656;

/** The sum of every voice of one 20 ms tick, in 32-bit integers (ten full-scale voices fit many times over). */
export class MixBus {
  readonly total: Int32Array;
  /** Voices added since the last clear. */
  voices = 0;

  constructor(readonly frameSamples: number) {
    this.total = new Int32Array(frameSamples);
  }

  clear(): void {
    if (this.voices > 0) this.total.fill(0);
    this.voices = 0;
  }

  add(samples: Int16Array): void {
    const total = this.total;
    const n = Math.min(total.length, samples.length);
    for (let i = 0; i < n; i++) total[i]! += samples[i]!;
    this.voices++;
  }
}

/**
 * A peak limiter in integer arithmetic (Q15 gains): a frame whose peak would pass full scale is
 * scaled down as a whole, at once (no sample clips); the gain then recovers smoothly, ramped
 * sample by sample, never above what the frame allows. One per listener: each hears its own sum.
 */
export class Limiter {
  /** The gain now (Q15; UNITY when nothing was loud lately). */
  gain = UNITY;
  /** Frames that needed gain reduction. */
  limitedFrames = 0;

  /**
   * Writes `total - minus` (or `total`) as 16-bit samples into `out`. Returns false when the result
   * is digital silence.
   */
  render(total: Int32Array, minus: Int16Array | undefined, out: Int16Array): boolean {
    const n = out.length;
    let peak = 0;
    if (minus) {
      for (let i = 0; i < n; i++) {
        const v = total[i]! - minus[i]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = total[i]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
    }
    const previous = this.gain;
    // The largest gain that keeps this frame's peak at full scale.
    const allowed = peak > FULL_SCALE ? Math.floor((FULL_SCALE * UNITY) / peak) : UNITY;
    const target = Math.min(allowed, previous + RELEASE_PER_FRAME, UNITY);
    this.gain = target;
    if (peak === 0) {
      out.fill(0);
      return false;
    }
    if (target === UNITY && previous === UNITY) {
      // The common case: nothing loud, a plain copy (peak ≤ full scale, so nothing to clamp).
      if (minus) for (let i = 0; i < n; i++) out[i] = total[i]! - minus[i]!;
      else for (let i = 0; i < n; i++) out[i] = total[i]!;
      return true;
    }
    if (allowed < UNITY) this.limitedFrames++;
    // Attack at once (the whole frame at the lower gain); release ramped from the previous gain.
    const from = target < previous ? target : previous;
    const step = (target - from) / n;
    for (let i = 0; i < n; i++) {
      const g = Math.floor(from + step * (i + 1));
      const v = minus ? total[i]! - minus[i]! : total[i]!;
      // Truncation toward zero keeps |v·g/2^15| ≤ full scale for every g ≤ allowed.
      out[i] = (v * g) / UNITY;
    }
    return true;
  }
}

/** True when every sample is zero. */
export function isSilent(samples: Int16Array): boolean {
  for (let i = 0; i < samples.length; i++) if (samples[i] !== 0) return false;
  return true;
}
