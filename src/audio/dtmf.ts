import { concatSamples } from './framing.js';

/**
 * In-band DTMF (ITU-T Q.23 frequencies, Q.24 timing): Media Streams cannot send DTMF events, so
 * digits are played as tones in the outbound audio.
 */
const ROWS = [697, 770, 852, 941] as const;
const COLUMNS = [1209, 1336, 1477, 1633] as const;
const KEYS = ['123A', '456B', '789C', '*0#D'] as const;

/** The row and column frequencies (Hz) of a key. */
export function dtmfFrequencies(digit: string): [number, number] | undefined {
  for (let row = 0; row < 4; row++) {
    const column = KEYS[row]!.indexOf(digit.toUpperCase());
    if (column >= 0 && digit.length === 1) return [ROWS[row]!, COLUMNS[column]!];
  }
  return undefined;
}

export interface DtmfOptions {
  /** Tone length (ms); Q.24 asks for at least 40. Default 100. */
  toneMs?: number;
  /** Silence after each tone (ms). Default 100. */
  gapMs?: number;
  /** Length of a `w` or `,` pause (ms), as in Twilio's sendDigits. Default 500. */
  pauseMs?: number;
  /** Peak amplitude of each of the two tones (16-bit). Default 7000 (about -13 dBFS each). */
  amplitude?: number;
}

/**
 * PCM for a digit string (`0-9 * # A-D`, `w` or `,` for a half-second pause) at `sampleRate`.
 * Throws on any other character.
 */
export function dtmfTones(digits: string, sampleRate: number, options: DtmfOptions = {}): Int16Array {
  const toneSamples = Math.round(((options.toneMs ?? 100) * sampleRate) / 1000);
  const gapSamples = Math.round(((options.gapMs ?? 100) * sampleRate) / 1000);
  const pauseSamples = Math.round(((options.pauseMs ?? 500) * sampleRate) / 1000);
  const amplitude = options.amplitude ?? 7000;
  const parts: Int16Array[] = [];
  for (const digit of digits) {
    if (digit === 'w' || digit === 'W' || digit === ',') {
      parts.push(new Int16Array(pauseSamples));
      continue;
    }
    const frequencies = dtmfFrequencies(digit);
    if (!frequencies) throw new RangeError(`"${digit}" is not a DTMF digit (0-9 * # A-D, or w/, for a pause).`);
    const [low, high] = frequencies;
    const tone = new Int16Array(toneSamples + gapSamples);
    const ramp = Math.min(toneSamples / 2, Math.round(sampleRate / 200)); // 5 ms fade in/out: no clicks
    for (let i = 0; i < toneSamples; i++) {
      const envelope = Math.min(1, i / ramp, (toneSamples - 1 - i) / ramp);
      const t = i / sampleRate;
      tone[i] = Math.round(envelope * amplitude * (Math.sin(2 * Math.PI * low * t) + Math.sin(2 * Math.PI * high * t)));
    }
    parts.push(tone);
  }
  return concatSamples(parts);
}
