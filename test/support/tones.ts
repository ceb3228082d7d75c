import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import { goertzel } from './goertzel.js';

/** A continuous sine, cut into 20 ms frames: frame `i` of `frequency` at `sampleRate`. */
export function toneFrame(frequency: number, sampleRate: number, i: number, amplitude = 8000): Int16Array {
  const n = sampleRate / 50;
  return Int16Array.from({ length: n }, (_, k) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * (i * n + k)) / sampleRate)));
}

/** The same as μ-law bytes (8 kHz): what a phone call sends. */
export function mulawToneFrame(frequency: number, i: number, amplitude = 8000): Uint8Array {
  return mulawEncode(toneFrame(frequency, 8000, i, amplitude));
}

/**
 * How strongly each frequency is present in `samples`, as the Goertzel power per sample squared,
 * normalised: about (A/2)² for a sine of amplitude A (0 when absent).
 */
export function toneLevels(samples: Int16Array, sampleRate: number, frequencies: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  const n = samples.length;
  for (const f of frequencies) out[f] = n === 0 ? 0 : Math.sqrt(goertzel(samples, 0, n, f, sampleRate)) / n;
  return out;
}

/** μ-law bytes as PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  return mulawDecode(bytes);
}

/** The last `ms` of a recording (all of it when shorter). */
export function lastMs(samples: Int16Array, sampleRate: number, ms: number): Int16Array {
  return samples.subarray(Math.max(0, samples.length - Math.round((ms * sampleRate) / 1000)));
}
