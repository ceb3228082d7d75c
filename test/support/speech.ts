import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { concatSamples } from '../../src/audio/framing.js';
import { resampleOnce } from '../../src/audio/resample.js';
import { OUTPUT_DIR } from './browser.js';

/** Reads a 16-bit PCM mono WAV file (what espeak-ng writes). */
export function readWav(file: string): { samples: Int16Array; sampleRate: number } {
  const data = readFileSync(file);
  if (data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    let size = data.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      if (data.readUInt16LE(offset + 8) !== 1 || data.readUInt16LE(offset + 10) !== 1 || data.readUInt16LE(offset + 22) !== 16) {
        throw new Error(`${file}: expected 16-bit PCM mono`);
      }
      sampleRate = data.readUInt32LE(offset + 12);
    } else if (id === 'data') {
      // espeak-ng streams to the file and may leave the size at 0x7fffffff: trust the file length.
      size = Math.min(size, data.length - offset - 8);
      const bytes = data.subarray(offset + 8, offset + 8 + size - (size % 2));
      return { samples: new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)), sampleRate };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/**
 * Real speech made with espeak-ng (installed by the project's setup), resampled to `rate`; cached
 * under test-output/fixtures.
 */
export function speech(text: string, rate: number): Int16Array {
  const dir = path.join(OUTPUT_DIR, 'fixtures');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${text.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60)}.wav`);
  if (!existsSync(file)) execFileSync('espeak-ng', ['-s', '160', '-w', file, text]);
  const wav = readWav(file);
  return resampleOnce(trimSilence(wav.samples), wav.sampleRate, rate);
}

/** Drops leading and trailing near-silence, so a fixture's speech boundaries are known. */
function trimSilence(samples: Int16Array, level = 300): Int16Array {
  let start = 0;
  let end = samples.length;
  while (start < end && Math.abs(samples[start]!) < level) start++;
  while (end > start && Math.abs(samples[end - 1]!) < level) end--;
  return samples.slice(start, end);
}

export function silence(ms: number, rate: number): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

/** White noise at a given RMS level (dBFS), seeded: the same every run. */
export function noise(ms: number, rate: number, dbfs = -30, seed = 42): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  let state = seed;
  for (let i = 0; i < out.length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    out[i] = Math.round(((state / 2 ** 32) * 2 - 1) * amplitude);
  }
  return out;
}

export function concatPcm(...parts: Int16Array[]): Int16Array {
  return concatSamples(parts);
}

/** Splits PCM into 20 ms frames (the last one padded with silence). */
export function frames20(samples: Int16Array, rate: number): Int16Array[] {
  const size = (rate * 20) / 1000;
  const out: Int16Array[] = [];
  for (let offset = 0; offset < samples.length; offset += size) {
    const frame = new Int16Array(size);
    frame.set(samples.subarray(offset, offset + size));
    out.push(frame);
  }
  return out;
}
