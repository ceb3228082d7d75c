/**
 * How far a decoded signal is from its original, in measures that follow hearing more than a
 * sample-by-sample error does (a perceptual codec does not keep the waveform, so segmental SNR
 * punishes it for phase it was right to drop):
 * - mel-cepstral distance (MCD, dB): the spectral envelope on a mel scale, as a cepstrum (c1..c24 of
 *   the DCT of the log mel-band amplitudes, c0, the loudness, left out), (10 / ln 10) · √(2 Σ Δc²), averaged
 *   over speech frames; the measure speech-synthesis papers compare voices with;
 * - log-spectral distance (LSD, dB): the RMS difference of the two log power spectra, bin by bin,
 *   averaged over the same frames;
 * both with each signal's bands and bins floored 50 dB below its own frame's loudest, so that
 * differences in what is masked or inaudible anyway (codec noise in a near-empty band) do not dominate;
 * - segmental SNR (dB), for reference only.
 * Signals are 48 kHz; frames of 1024 samples (21 ms, Hann window) every 480; the decoded signal is
 * first aligned to the original by cross-correlation (the codec's delay).
 */

const RATE = 48000;
const N = 1024;
const HOP = 480;
const BANDS = 40;
const CEPSTRA = 24;
/** Speech frames: within this many dB of the loudest frame of the original. */
const SPEECH_RANGE_DB = 35;
/** Bands and bins are floored 50 dB below their frame's loudest (what lies lower is masked or inaudible). */
const FLOOR = 1e-5;

export interface Quality {
  mcdDb: number;
  lsdDb: number;
  segSnrDb: number;
  /** Samples the decoded signal lagged the original by. */
  delay: number;
}

/** Samples `decoded` lags `original` by (0..maxLag), from the cross-correlation over the loudest second. */
export function delayOf(original: Int16Array, decoded: Int16Array, maxLag = 1000): number {
  let loudest = 0;
  let best = -1;
  for (let start = 0; start + RATE <= original.length; start += RATE / 4) {
    let energy = 0;
    for (let i = start; i < start + RATE; i += 4) energy += original[i]! * original[i]!;
    if (energy > best) [best, loudest] = [energy, start];
  }
  const end = Math.min(loudest + RATE, original.length, decoded.length - maxLag);
  let lag = 0;
  let top = -Infinity;
  for (let d = 0; d <= maxLag; d++) {
    let sum = 0;
    for (let i = loudest; i < end; i++) sum += original[i]! * decoded[i + d]!;
    if (sum > top) [top, lag] = [sum, d];
  }
  return lag;
}

/** In-place radix-2 FFT of (re, im), length a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const step = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < size / 2; k++) {
        const wr = Math.cos(step * k);
        const wi = Math.sin(step * k);
        const a = start + k;
        const b = a + size / 2;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
      }
    }
  }
}

const HANN = Float64Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));

/** Power spectrum (bins 0..N/2) of the frame starting at `start`. */
function power(samples: Int16Array, start: number): Float64Array {
  const re = new Float64Array(N);
  const im = new Float64Array(N);
  for (let i = 0; i < N; i++) re[i] = ((samples[start + i] ?? 0) / 32768) * HANN[i]!;
  fft(re, im);
  return Float64Array.from({ length: N / 2 + 1 }, (_, k) => re[k]! * re[k]! + im[k]! * im[k]!);
}

const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const hzOf = (m: number) => 700 * (10 ** (m / 2595) - 1);

interface Band {
  first: number;
  weights: Float64Array;
}

/** Triangular mel filters from `low` to `high` Hz, as weights over the FFT bins each one covers. */
function filterbank(low: number, high: number): Band[] {
  const edges = Array.from({ length: BANDS + 2 }, (_, i) => hzOf(mel(low) + ((mel(high) - mel(low)) * i) / (BANDS + 1)));
  return Array.from({ length: BANDS }, (_, b) => {
    const [l, c, h] = [edges[b]!, edges[b + 1]!, edges[b + 2]!];
    const first = Math.floor((l * N) / RATE) + 1;
    const last = Math.min(N / 2, Math.ceil((h * N) / RATE) - 1);
    const weights = Float64Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => {
      const hz = ((first + i) * RATE) / N;
      return hz <= l || hz >= h ? 0 : hz <= c ? (hz - l) / (c - l) : (h - hz) / (h - c);
    });
    return { first, weights };
  });
}

/** Energy in each mel band. */
function bandEnergies(spectrum: Float64Array, bands: Band[]): Float64Array {
  return Float64Array.from(bands, ({ first, weights }) => {
    let sum = 0;
    for (let i = 0; i < weights.length; i++) sum += weights[i]! * spectrum[first + i]!;
    return sum;
  });
}

/** c1..c24 of the orthonormal DCT-II of the log mel-band amplitudes (energies floored at `floor`). */
function cepstrum(energies: Float64Array, floor: number): Float64Array {
  const logs = Array.from(energies, (e) => 0.5 * Math.log(Math.max(floor, e)));
  return Float64Array.from({ length: CEPSTRA }, (_, d) => {
    let sum = 0;
    for (let b = 0; b < BANDS; b++) sum += logs[b]! * Math.cos((Math.PI * (d + 1) * (b + 0.5)) / BANDS);
    return sum * Math.sqrt(2 / BANDS);
  });
}

/**
 * Distances between `original` and `decoded` over the band `low`..`high` Hz (the original's: espeak-ng
 * speaks at 22.05 kHz, and its speech is 60 dB down by 10 kHz), decoded aligned by `delay` (measured if not given).
 */
export function quality(original: Int16Array, decoded: Int16Array, options: { low?: number; high?: number; delay?: number } = {}): Quality {
  const { low = 60, high = 10000 } = options;
  const delay = options.delay ?? delayOf(original, decoded);
  const aligned = decoded.subarray(delay);
  const filters = filterbank(low, high);
  const [kLow, kHigh] = [Math.ceil((low * N) / RATE), Math.floor((high * N) / RATE)];
  const frames: number[] = [];
  const energies: number[] = [];
  for (let start = 0; start + N <= Math.min(original.length, aligned.length); start += HOP) {
    let energy = 0;
    for (let i = start; i < start + N; i++) energy += original[i]! * original[i]!;
    frames.push(start);
    energies.push(10 * Math.log10(energy + 1));
  }
  const loudest = Math.max(...energies);
  let mcd = 0;
  let lsd = 0;
  let snr = 0;
  let count = 0;
  frames.forEach((start, f) => {
    if (energies[f]! < loudest - SPEECH_RANGE_DB) return;
    const a = power(original, start);
    const b = power(aligned, start);
    // Each signal floored 50 dB below its own frame's loudest band (mel) and bin (LSD): a change of
    // loudness alone moves no cepstrum but c0, which is left out.
    const ea = bandEnergies(a, filters);
    const eb = bandEnergies(b, filters);
    const ca = cepstrum(ea, Math.max(...ea) * FLOOR);
    const cb = cepstrum(eb, Math.max(...eb) * FLOOR);
    const floorA = Math.max(...a.subarray(kLow, kHigh + 1)) * FLOOR;
    const floorB = Math.max(...b.subarray(kLow, kHigh + 1)) * FLOOR;
    let d2 = 0;
    for (let d = 0; d < CEPSTRA; d++) d2 += (ca[d]! - cb[d]!) ** 2;
    mcd += (10 / Math.LN10) * Math.sqrt(2 * d2);
    let l2 = 0;
    for (let k = kLow; k <= kHigh; k++) l2 += (10 * Math.log10(Math.max(floorA, a[k]!) / Math.max(floorB, b[k]!))) ** 2;
    lsd += Math.sqrt(l2 / (kHigh - kLow + 1));
    let signal = 0;
    let error = 0;
    for (let i = start; i < start + HOP; i++) {
      signal += original[i]! ** 2;
      error += (original[i]! - aligned[i]!) ** 2;
    }
    snr += Math.min(35, Math.max(-10, 10 * Math.log10((signal + 1) / (error + 1))));
    count++;
  });
  return { mcdDb: mcd / count, lsdDb: lsd / count, segSnrDb: snr / count, delay };
}
