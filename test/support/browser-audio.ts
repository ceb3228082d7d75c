import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { wavHeader } from '../../src/recording/wav-writer.js';
import { OUTPUT_DIR } from './browser.js';

/**
 * A WAV file of a steady tone for Chromium's fake microphone (`--use-file-for-fake-audio-capture`,
 * looped): the browser then sends a frequency the other side can look for.
 */
export function toneWav(frequency: number, seconds = 4, sampleRate = 48000): string {
  const n = seconds * sampleRate;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(9000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate)), 2 * i);
  const header = wavHeader(sampleRate, 1, data.length);
  const dir = path.join(OUTPUT_DIR, 'audio');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tone-${frequency}.wav`);
  writeFileSync(file, Buffer.concat([header, data]));
  return file;
}

/**
 * What the page hears from the server: the levels (dB, Web Audio's analyser, peak over `ms`) of the
 * first received audio track around each frequency. `receiver` finds the peer connection in the page.
 */
export async function heardInPage(page: Page, receiver: string, frequencies: number[], ms = 1200): Promise<Record<number, number>> {
  return page.evaluate(
    async ({ receiver, frequencies, ms }) => {
      const pc = (0, eval)(receiver) as RTCPeerConnection | null;
      const track = pc?.getReceivers().find((r) => r.track?.kind === 'audio')?.track;
      if (!track) return {};
      const context = new AudioContext();
      await context.resume();
      const analyser = context.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0;
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      const bins = new Float32Array(analyser.frequencyBinCount);
      const peak: Record<number, number> = {};
      for (const f of frequencies) peak[f] = -Infinity;
      const until = performance.now() + ms;
      while (performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        analyser.getFloatFrequencyData(bins);
        for (const f of frequencies) {
          const center = Math.round((f / context.sampleRate) * analyser.fftSize);
          for (let k = center - 2; k <= center + 2; k++) peak[f] = Math.max(peak[f]!, bins[k]!);
        }
      }
      await context.close();
      return peak;
    },
    { receiver, frequencies, ms },
  );
}
