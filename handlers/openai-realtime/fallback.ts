import type { PcmFrame } from '../../src/index.js';

/** The tone's two frequencies (Hz): North America's reorder ("fast busy") tone, which says "try again later". */
export const FALLBACK_TONE_HZ = [480, 620] as const;

/**
 * The default fallback: three 250 ms bursts of the reorder tone with 250 ms gaps (1.25 s), at 8 kHz
 * (every transport can carry it; the session converts it).
 */
export function fallbackTone(sampleRate = 8000): PcmFrame {
  const burst = Math.round(sampleRate * 0.25);
  const samples = new Int16Array(burst * 5);
  for (let b = 0; b < 3; b++) {
    const start = b * 2 * burst;
    for (let i = 0; i < burst; i++) {
      const t = i / sampleRate;
      // Each frequency at -12 dBFS, faded in and out over 5 ms so the bursts do not click.
      const fade = Math.min(1, i / (sampleRate * 0.005), (burst - i) / (sampleRate * 0.005));
      const value = 8000 * fade * (Math.sin(2 * Math.PI * FALLBACK_TONE_HZ[0] * t) + Math.sin(2 * Math.PI * FALLBACK_TONE_HZ[1] * t));
      samples[start + i] = Math.round(value);
    }
  }
  return { encoding: 'pcm16', sampleRate, samples };
}
