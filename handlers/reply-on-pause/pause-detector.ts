/**
 * Voice activity detection, pluggable: a `PauseDetector` makes one `SpeechScorer` per session; the
 * scorer keeps that session's state (Silero's recurrent state, say) and scores fixed windows.
 */
export interface SpeechScorer {
  /** Samples per window at the scorer's rate (Silero v5: 512 at 16 kHz, 256 at 8 kHz). */
  readonly windowSamples: number;
  /** Probability (0..1) that the window holds speech. Windows arrive in order, without gaps. */
  score(window: Float32Array): number | Promise<number>;
  /** Frees the session's state. */
  close?(): void;
}

export interface PauseDetector {
  readonly name: string;
  /** A scorer for one session's audio at `sampleRate` (8000 or 16000). */
  createScorer(sampleRate: 8000 | 16000): SpeechScorer | Promise<SpeechScorer>;
}
