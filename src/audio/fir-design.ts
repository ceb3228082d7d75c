/**
 * Polyphase FIR filter design for the Resampler: Kaiser-windowed sinc low-pass filters, split into
 * L phases of `taps` coefficients each, designed once per (L, M, quality) and shared.
 *
 * The band edges are relative to the lower Nyquist frequency min(inputRate, outputRate)/2:
 *  - 'good': flat to 0.875 (3.5 kHz at 8 kHz), cutoff 0.9375, stopband from 1.0, designed for
 *    70 dB (at least 60 dB is guaranteed by the tests), K = 70.
 *  - 'fast': flat to 0.8, cutoff 0.9, stopband from 1.0, about 50 dB, K = 30.
 * K is the filter length counted at the lower rate; `taps` ≈ K·max(L, M)/L. The stopband starts at
 * the lower Nyquist frequency, so nothing aliases when downsampling and no image leaks when
 * upsampling.
 */

/** Filter quality: 'good' (≥ 60 dB stopband) or 'fast' (≈ 50 dB, under half the work). */
export type FilterQuality = 'fast' | 'good';

interface FilterSpec {
  /** Edge of the flat passband, as a fraction of the lower Nyquist frequency. */
  readonly passband: number;
  /** Start of the stopband, as a fraction of the lower Nyquist frequency. */
  readonly stopband: number;
  /** Design stopband attenuation in dB (sets the Kaiser β and the filter length). */
  readonly attenuationDb: number;
}

const SPECS: Record<FilterQuality, FilterSpec> = {
  good: { passband: 0.875, stopband: 1.0, attenuationDb: 70 },
  fast: { passband: 0.8, stopband: 1.0, attenuationDb: 50 },
};

/** Coefficients per phase are padded with zeros to a multiple of this (two f32x4 lanes). */
const TAP_BLOCK = 8;

/** Refuse banks above this many coefficients (16 MB): exotic ratios such as 96000:44101. */
const MAX_COEFFICIENTS = 1 << 22;

/** A designed polyphase filter bank, shared by the Resampler instances with the same ratio. */
export interface FilterBank {
  /** Interpolation factor L. */
  readonly up: number;
  /** Decimation factor M. */
  readonly down: number;
  /** Coefficients per phase, a multiple of TAP_BLOCK. */
  readonly taps: number;
  /** Group delay in output samples (a whole number by construction). */
  readonly delay: number;
  /** `up` phases of `taps` coefficients, each phase reversed (oldest input first), gain L. */
  readonly coeffs: Float32Array;
}

export function isFilterQuality(quality: unknown): quality is FilterQuality {
  return typeof quality === 'string' && Object.hasOwn(SPECS, quality);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

function designBank(up: number, down: number, quality: FilterQuality): FilterBank {
  const spec = SPECS[quality];
  const factor = Math.max(up, down);
  // Kaiser's length estimate, counted in samples at the lower rate (where Nyquist is π).
  const transition = spec.stopband - spec.passband;
  const k = Math.ceil((spec.attenuationDb - 7.95) / (2.285 * Math.PI * transition));
  const half = (k * factor) / 2; // window half-width, in samples at the rate L·inputRate
  const delay = Math.ceil(half / down);
  const center = delay * down; // a multiple of M, so the delay is a whole number of outputs
  const length = Math.floor(center + half) + 1;
  const taps = Math.ceil(Math.ceil(length / up) / TAP_BLOCK) * TAP_BLOCK;
  if (up * taps > MAX_COEFFICIENTS) {
    throw new RangeError(`Resampler: ratio ${up}/${down} needs ${up * taps} coefficients; too many`);
  }
  const cutoff = (spec.passband + spec.stopband) / 4 / factor; // cycles per high-rate sample
  const beta = kaiserBeta(spec.attenuationDb);
  const i0Beta = besselI0(beta);
  const coeffs = new Float32Array(up * taps);
  const phase = new Float64Array(taps);
  for (let p = 0; p < up; p++) {
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      const x = Math.abs(p + j * up - center); // |x| keeps the filter exactly symmetric
      let h = 0;
      if (x < half) {
        const r = x / half;
        const arg = 2 * Math.PI * cutoff * x;
        h = (x === 0 ? 1 : Math.sin(arg) / arg) * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
      }
      phase[j] = h;
      sum += h;
    }
    // Unit DC gain for every phase; this also supplies the interpolation gain L.
    for (let j = 0; j < taps; j++) coeffs[p * taps + (taps - 1 - j)] = phase[j] / sum;
  }
  return { up, down, taps, delay, coeffs };
}

const banks = new Map<string, FilterBank>();

/** The shared filter bank converting `inputRate` to `outputRate` (distinct rates), designed on first use. */
export function bankFor(inputRate: number, outputRate: number, quality: FilterQuality): FilterBank {
  const g = gcd(inputRate, outputRate);
  const up = outputRate / g;
  const down = inputRate / g;
  const key = `${up}:${down}:${quality}`;
  let bank = banks.get(key);
  if (bank === undefined) {
    bank = designBank(up, down, quality);
    banks.set(key, bank);
  }
  return bank;
}
