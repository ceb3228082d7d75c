import type { PauseDetector, SpeechScorer } from './pause-detector.js';

/** RMS level of `samples` in dB relative to `fullScale` (1 for floats, 32768 for 16-bit PCM). */
export function levelDb(samples: Float32Array | Int16Array, fullScale: number): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return 10 * Math.log10(sum / samples.length / (fullScale * fullScale) + 1e-12);
}

export interface EnergyDetectorOptions {
  /** Level (dBFS) at and below which a window scores 0. Default -50. */
  silenceDb?: number;
  /** Level (dBFS) at and above which a window scores 1. Default -30. */
  speechDb?: number;
}

/**
 * A light detector on signal energy: no model, no native code. Good for tests and for machines
 * without onnxruntime; it cannot tell speech from other loud sound (Silero can).
 */
export class EnergyDetector implements PauseDetector {
  readonly name = 'energy';
  private readonly silenceDb: number;
  private readonly speechDb: number;

  constructor(options: EnergyDetectorOptions = {}) {
    this.silenceDb = options.silenceDb ?? -50;
    this.speechDb = options.speechDb ?? -30;
  }

  createScorer(sampleRate: 8000 | 16000): SpeechScorer {
    const { silenceDb, speechDb } = this;
    return {
      windowSamples: sampleRate === 8000 ? 256 : 512,
      score(window: Float32Array): number {
        const db = levelDb(window, 1);
        return Math.min(1, Math.max(0, (db - silenceDb) / (speechDb - silenceDb)));
      },
    };
  }
}
