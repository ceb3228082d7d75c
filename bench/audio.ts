/**
 * Micro-benchmark of the audio primitives: microseconds per 20 ms frame.
 *
 *   npx tsx bench/audio.ts
 */

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mulawDecode, mulawEncode } from '../src/audio/mulaw.js';
import { Resampler } from '../src/audio/resample.js';
import type { BenchResult } from './report.js';

/** A speech-like signal: a few tones plus noise. */
function signal(rate: number, length: number): Int16Array {
  let seed = 12345;
  const noise = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return ((seed >>> 16) & 0x7fff) / 0x8000 - 0.5;
  };
  return Int16Array.from({ length }, (_, i) => {
    const t = i / rate;
    return Math.round(8000 * Math.sin(2 * Math.PI * 220 * t) + 3000 * Math.sin(2 * Math.PI * 1900 * t) + 4000 * noise());
  });
}

/** Median over `rounds` of the mean time per call of `step(frameIndex)`, in microseconds. */
function measure(step: (frame: number) => void, frames: number, rounds = 7): number {
  for (let i = 0; i < frames * 3; i++) step(i % frames); // warm up (JIT)
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const calls = frames * 4;
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) step(i % frames);
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function benchMulaw(): number {
  const frames = 250;
  const pcm = signal(8000, 160 * frames);
  const bytes = new Uint8Array(160);
  const decoded = new Int16Array(160);
  return measure((f) => {
    mulawEncode(pcm.subarray(f * 160, (f + 1) * 160), bytes);
    mulawDecode(bytes, decoded);
  }, frames);
}

function benchResampler(from: number, to: number): number {
  const frames = 250;
  const size = from / 50;
  const input = signal(from, size * frames);
  const chunks = Array.from({ length: frames }, (_, f) => input.subarray(f * size, (f + 1) * size));
  const resampler = new Resampler(from, to);
  return measure((f) => {
    resampler.process(chunks[f]);
  }, frames);
}

const RESAMPLER_CASES: [number, number][] = [
  [8000, 16000],
  [16000, 8000],
  [8000, 48000],
  [48000, 8000],
  [24000, 8000],
  [48000, 16000],
];

const kHz = (rate: number): string => `${rate / 1000}k`;

/** Runs every benchmark; returns microseconds per 20 ms frame by name. */
export async function runAudioBench(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  results['mulaw decode+encode'] = benchMulaw();
  for (const [from, to] of RESAMPLER_CASES) {
    results[`resample ${kHz(from)}→${kHz(to)}`] = benchResampler(from, to);
  }
  return results;
}

/** A naive linear-interpolation resampler: no anti-aliasing, the cheapest thing that changes rate. */
function linearBaseline(from: number, to: number): number {
  const frames = 250;
  const size = from / 50;
  const input = signal(from, size * frames);
  const outSize = to / 50;
  const out = new Int16Array(outSize);
  const step = from / to;
  return measure((f) => {
    const base = f * size;
    for (let i = 0; i < outSize; i++) {
      const x = i * step;
      const j = Math.floor(x);
      const a = input[base + j]!;
      const b = input[base + Math.min(j + 1, size - 1)]!;
      out[i] = a + (b - a) * (x - j);
    }
  }, frames);
}

/** The `audio` scenario of `npm run bench`: µs per frame, against linear interpolation as a floor. */
export async function audioScenario(): Promise<BenchResult> {
  const figures = await runAudioBench();
  const baseline: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  for (const [from, to] of RESAMPLER_CASES) {
    const name = `resample ${kHz(from)}→${kHz(to)}`;
    baseline[`linear ${kHz(from)}→${kHz(to)} (µs/frame)`] = linearBaseline(from, to);
    ratios[`${name}: polyphase / linear time`] = figures[name]! / baseline[`linear ${kHz(from)}→${kHz(to)} (µs/frame)`]!;
  }
  return {
    title: 'audio primitives, µs per 20 ms frame',
    figures: Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${k} (µs/frame)`, v])),
    baseline,
    ratios,
    notes: ['linear interpolation has no anti-aliasing (downsampling aliases at 0 dB); it is only a cost floor'],
  };
}

function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const results = await runAudioBench();
  console.log(`audio primitives, µs per 20 ms frame (node ${process.version})`);
  for (const [name, us] of Object.entries(results)) console.log(`  ${name.padEnd(24)} ${us.toFixed(2).padStart(8)} µs`);
}
