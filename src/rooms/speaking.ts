/**
 * Who is speaking, from the level of each 20 ms frame (RMS, dBFS) with hysteresis: speech starts
 * after `startFrames` frames above `onDb`, and ends after `hangFrames` frames below `offDb`. No
 * model: a level detector, like ReplyOnPause's EnergyDetector; loud noise counts as speech.
 */
export interface SpeakingOptions {
  /** Level (dBFS) above which a frame counts as speech. Default -40. */
  onDb?: number;
  /** Level (dBFS) below which a frame counts as silence. Default -48. */
  offDb?: number;
  /** Frames above `onDb` before speaking starts. Default 2 (40 ms). */
  startFrames?: number;
  /** Frames below `offDb` before speaking ends. Default 20 (400 ms). */
  hangFrames?: number;
}

/** Level of 16-bit samples (RMS, dB relative to full scale); -120 for silence. */
export function levelDbfs(samples: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  if (sum === 0) return -120;
  return 10 * Math.log10(sum / samples.length / (32768 * 32768));
}

export class SpeakingDetector {
  speaking = false;
  private above = 0;
  private below = 0;
  private readonly onDb: number;
  private readonly offDb: number;
  private readonly startFrames: number;
  private readonly hangFrames: number;

  constructor(options: SpeakingOptions = {}) {
    this.onDb = options.onDb ?? -40;
    this.offDb = options.offDb ?? -48;
    this.startFrames = options.startFrames ?? 2;
    this.hangFrames = options.hangFrames ?? 20;
  }

  /** One frame (undefined: nothing came, counted as silence). Returns the new state when it changed. */
  update(samples: Int16Array | undefined): boolean | undefined {
    const db = samples ? levelDbfs(samples) : -120;
    if (db > this.onDb) {
      this.above++;
      this.below = 0;
    } else {
      this.above = 0;
      if (db < this.offDb) this.below++;
    }
    if (!this.speaking && this.above >= this.startFrames) {
      this.speaking = true;
      return true;
    }
    if (this.speaking && this.below >= this.hangFrames) {
      this.speaking = false;
      return false;
    }
    return undefined;
  }
}
