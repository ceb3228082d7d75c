/**
 * The speech the Opus bench codes: sentences spoken by espeak-ng in two voices, resampled to 48 kHz
 * by sox (its high-quality rate converter) and normalised to -3 dBFS peak, with pauses of faint noise
 * (-60 dBFS) between them so that DTX has silence to act on. Cached under test-output/fixtures.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWav } from '../test/support/speech.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-output', 'fixtures');
const RATE = 48000;

const SENTENCES: [voice: string, text: string][] = [
  ['en-us', 'Thank you for calling. Please tell me the reason for your call today.'],
  ['en-us+f3', 'My order number is four seven two nine, and the parcel never arrived.'],
  ['en-gb', 'She sells sea shells by the sea shore; the shells she sells are surely sea shells.'],
  ['en-us+f3', 'Could you check whether the appointment on Thursday at half past three is still free?'],
  ['en-gb', 'Yes. No. Maybe. Hold on, just a moment, I am looking it up.'],
];

/** One sentence at 48 kHz (cached). */
function sentence(voice: string, text: string, index: number): Int16Array {
  mkdirSync(DIR, { recursive: true });
  const spoken = path.join(DIR, `opus-bench-${index}-${voice}.22k.wav`);
  const file = path.join(DIR, `opus-bench-${index}-${voice}.48k.wav`);
  if (!existsSync(file)) {
    execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', spoken, text]);
    execFileSync('sox', [spoken, '-r', String(RATE), '-b', '16', file, 'norm', '-3']);
  }
  return readWav(file).samples;
}

/** Faint white noise (-60 dBFS RMS), seeded. */
function pause(ms: number, seed: number): Int16Array {
  const out = new Int16Array((ms * RATE) / 1000);
  const amplitude = 32768 * 10 ** (-60 / 20) * Math.sqrt(3);
  let state = seed;
  for (let i = 0; i < out.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    out[i] = Math.round(((state / 2 ** 32) * 2 - 1) * amplitude);
  }
  return out;
}

/** The whole fixture, padded to whole 20 ms frames. */
export function speechFixture(): Int16Array {
  const parts = SENTENCES.flatMap(([voice, text], i) => [pause(i === 0 ? 200 : 600, i + 1), sentence(voice, text, i)]);
  parts.push(pause(400, 99));
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(Math.ceil(length / 960) * 960);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
