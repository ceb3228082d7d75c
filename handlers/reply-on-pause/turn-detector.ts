import { concatSamples } from '../../src/audio/framing.js';
import { levelDb } from './energy-detector.js';
import type { SpeechScorer } from './pause-detector.js';

/** Audio not yet scored by the VAD may close a pause only this quiet (dBFS, RMS): line noise, no voice. */
const QUIET_DB = -40;

export interface TurnDetectorOptions {
  sampleRate: 8000 | 16000;
  /** Speech probability at or above which a window is speech. */
  threshold: number;
  /** Below this a window is silence (between the two, nothing changes). Default threshold - 0.15. */
  negativeThreshold?: number;
  /** Continuous speech needed before the user counts as talking (ms). */
  startedTalkingMs: number;
  /** Silence after speech that ends the turn (ms): the pause. */
  minSilenceMs: number;
  /** Audio kept before the speech starts and after it ends (ms). */
  speechPadMs: number;
  /** Speech shorter than this in a whole turn is noise: the turn is dropped (ms). */
  minSpeechMs: number;
  /** A turn this long ends even without a pause (ms). */
  maxSpeechMs: number;
  /**
   * Baseline only (FastRTC's policy): decide only at the end of each chunk of this length, ending
   * the turn when a chunk holds less than 100 ms of speech. Unset: decide at every window.
   */
  chunkMs?: number;
}

/** A stretch of speech, in stream time (ms). */
export interface SpeechSpan {
  startMs: number;
  endMs: number;
}

export type TurnEvent =
  /** Enough speech to count as talking; `atMs` is when the speech began (stream time). */
  | { type: 'started'; atMs: number }
  /**
   * The turn ended at `atMs` (stream time) with this audio (padded), which begins at `startMs`;
   * `speechSpans` are where the VAD heard speech in it (stream time).
   */
  | { type: 'ended'; atMs: number; utterance: Int16Array; startMs: number; speechMs: number; speechSpans: SpeechSpan[]; forced: boolean }
  /** The user stopped talking, but said too little to reply to. */
  | { type: 'discarded'; atMs: number; speechMs: number };

/**
 * Turn-taking on a streaming VAD: windows are scored as they arrive with the scorer's state kept,
 * so a pause is detected `minSilenceMs` after speech ends (to one window), never at a chunk boundary.
 * Time is stream time (samples seen), so results do not depend on how fast audio arrives.
 */
export class TurnDetector {
  private readonly window: Float32Array;
  private readonly windowMs: number;
  private pending = new Int16Array(0);
  private samplesSeen = 0;
  private readonly history: Int16Array[] = [];
  private historySamples = 0;
  private readonly maxHistorySamples: number;
  private utterance: Int16Array[] = [];
  private utteranceSamples = 0;
  private utteranceStartMs = 0;
  private speechSpans: SpeechSpan[] = [];
  private talkingFlag = false;
  private speakingFlag = false;
  private speechStart: number | undefined;
  private speechRunMs = 0;
  private silenceStart: number | undefined;
  private speechMs = 0;
  private lastSpeechEnd = 0;
  private chunkSpeechMs = 0;
  private chunkElapsedMs = 0;

  constructor(
    private readonly scorer: SpeechScorer,
    private readonly options: TurnDetectorOptions,
  ) {
    this.window = new Float32Array(scorer.windowSamples);
    this.windowMs = (scorer.windowSamples * 1000) / options.sampleRate;
    this.maxHistorySamples = Math.ceil(((options.speechPadMs + options.startedTalkingMs + this.windowMs * 2) * options.sampleRate) / 1000);
  }

  /** True between `started` and `ended`. */
  get talking(): boolean {
    return this.talkingFlag;
  }

  /** True when the last window scored was speech (talking also covers the pause that ends a turn). */
  get speaking(): boolean {
    return this.speakingFlag;
  }

  /** Continuous speech so far (ms): barge-in waits for enough of it. */
  get currentSpeechMs(): number {
    return this.talkingFlag ? this.speechMs : this.speechRunMs;
  }

  /** Stream time (ms) of the audio scored so far. */
  get nowMs(): number {
    return (this.samplesSeen * 1000) / this.options.sampleRate;
  }

  /**
   * Feeds audio at the detector's rate; resolves with the turn events it caused, in order. Calls
   * must not overlap (await each): windows are scored in order.
   */
  async push(samples: Int16Array): Promise<TurnEvent[]> {
    const events: TurnEvent[] = [];
    const size = this.window.length;
    const all = this.pending.length > 0 ? concatSamples([this.pending, samples]) : samples;
    let offset = 0;
    while (offset + size <= all.length) {
      const windowSamples = all.subarray(offset, offset + size);
      for (let i = 0; i < size; i++) this.window[i] = windowSamples[i]! / 32768;
      offset += size;
      const probability = await this.scorer.score(this.window);
      this.step(probability, windowSamples, events);
    }
    this.pending = all.slice(offset);
    this.endOnQuietRemainder(events);
    return events;
  }

  /**
   * The pause may be complete before the window that completes it is: audio comes in 20 ms frames,
   * windows are 32 ms. When the audio received so far already holds the whole silence and the part
   * not yet scored is quiet by energy, the turn ends now instead of up to a window later.
   */
  private endOnQuietRemainder(events: TurnEvent[]): void {
    if (!this.talkingFlag || this.silenceStart === undefined || this.options.chunkMs || this.pending.length === 0) return;
    const receivedMs = ((this.samplesSeen + this.pending.length) * 1000) / this.options.sampleRate;
    if (receivedMs - this.lastSpeechEnd < this.options.minSilenceMs || levelDb(this.pending, 32768) > QUIET_DB) return;
    this.endTurn(receivedMs, false, events);
  }

  /** Forgets the current turn (after an interruption the caller may start over). */
  reset(): void {
    this.talkingFlag = false;
    this.utterance = [];
    this.utteranceSamples = 0;
    this.speechSpans = [];
    this.speechStart = undefined;
    this.speechRunMs = 0;
    this.silenceStart = undefined;
    this.speechMs = 0;
  }

  private step(probability: number, samples: Int16Array, events: TurnEvent[]): void {
    const { threshold, sampleRate } = this.options;
    const negative = this.options.negativeThreshold ?? threshold - 0.15;
    const start = (this.samplesSeen * 1000) / sampleRate;
    this.samplesSeen += samples.length;
    const end = (this.samplesSeen * 1000) / sampleRate;
    this.remember(samples);
    const isSpeech = probability >= threshold;
    this.speakingFlag = isSpeech;

    if (this.options.chunkMs) return this.chunkStep(isSpeech, start, end, samples, events);

    if (!this.talkingFlag) {
      if (isSpeech) {
        this.speechStart ??= start;
        this.speechRunMs += this.windowMs;
        if (this.speechRunMs >= this.options.startedTalkingMs) this.startTalking(events);
      } else if (probability < negative) {
        this.speechStart = undefined;
        this.speechRunMs = 0;
      }
      return;
    }
    this.append(samples);
    if (isSpeech) {
      this.silenceStart = undefined;
      this.speechMs += this.windowMs;
      this.lastSpeechEnd = end;
      this.addSpeech(start, end);
    } else if (probability < negative) {
      this.silenceStart ??= start;
    }
    // Silence counts from the end of the last speech window: windows between the thresholds (the
    // model's fading tail) count as silence once a window has fallen below the negative threshold.
    if (this.silenceStart !== undefined && end - this.lastSpeechEnd >= this.options.minSilenceMs) this.endTurn(end, false, events);
    else if (this.durationMs() >= this.options.maxSpeechMs) this.endTurn(end, true, events);
  }

  /** FastRTC's policy, for comparison: one decision per chunk. */
  private chunkStep(isSpeech: boolean, start: number, end: number, samples: Int16Array, events: TurnEvent[]): void {
    if (this.talkingFlag) this.append(samples);
    if (isSpeech) {
      this.chunkSpeechMs += this.windowMs;
      this.speechStart ??= start;
      this.lastSpeechEnd = end;
      if (this.talkingFlag) {
        this.speechMs += this.windowMs;
        this.addSpeech(start, end);
      }
    }
    this.chunkElapsedMs += this.windowMs;
    if (this.chunkElapsedMs + 1e-9 < this.options.chunkMs!) return;
    const chunkSpeech = this.chunkSpeechMs;
    this.chunkElapsedMs = 0;
    this.chunkSpeechMs = 0;
    if (!this.talkingFlag) {
      if (chunkSpeech > this.options.startedTalkingMs) {
        this.speechRunMs = chunkSpeech;
        this.startTalking(events);
      } else {
        this.speechStart = undefined;
      }
    } else if (chunkSpeech < 100 || this.durationMs() >= this.options.maxSpeechMs) {
      this.endTurn(end, chunkSpeech >= 100, events);
    }
  }

  private startTalking(events: TurnEvent[]): void {
    this.talkingFlag = true;
    const padStart = Math.max(0, (this.speechStart ?? 0) - this.options.speechPadMs);
    this.utterance = [this.historySince(padStart)];
    this.utteranceSamples = this.utterance[0]!.length;
    this.utteranceStartMs = this.nowMs - (this.utteranceSamples * 1000) / this.options.sampleRate;
    this.speechSpans = [{ startMs: this.speechStart ?? this.nowMs, endMs: this.nowMs }];
    this.speechMs = this.speechRunMs;
    this.lastSpeechEnd = this.nowMs;
    this.silenceStart = undefined;
    events.push({ type: 'started', atMs: this.speechStart ?? this.nowMs });
  }

  private endTurn(atMs: number, forced: boolean, events: TurnEvent[]): void {
    // The utterance holds the scored audio, up to nowMs; the pad after the speech is kept of it.
    const keepMs = forced ? this.nowMs : Math.min(this.nowMs, this.lastSpeechEnd + this.options.speechPadMs);
    const dropSamples = Math.max(0, Math.round(((this.nowMs - keepMs) * this.options.sampleRate) / 1000));
    const audio = concatSamples(this.utterance);
    const utterance = audio.subarray(0, Math.max(0, audio.length - dropSamples));
    const { speechMs, speechSpans, utteranceStartMs: startMs } = this;
    this.reset();
    if (speechMs < this.options.minSpeechMs) events.push({ type: 'discarded', atMs, speechMs });
    else events.push({ type: 'ended', atMs, utterance, startMs, speechMs, speechSpans, forced });
  }

  /** Extends the last span of speech, or starts one. */
  private addSpeech(startMs: number, endMs: number): void {
    const last = this.speechSpans.at(-1);
    if (last && startMs - last.endMs < 1e-6) last.endMs = endMs;
    else this.speechSpans.push({ startMs, endMs });
  }

  private durationMs(): number {
    return (this.utteranceSamples * 1000) / this.options.sampleRate;
  }

  private append(samples: Int16Array): void {
    this.utterance.push(samples.slice());
    this.utteranceSamples += samples.length;
  }

  /** Keeps the last few hundred ms, so the start of a turn includes the onset and the pad. */
  private remember(samples: Int16Array): void {
    this.history.push(samples.slice());
    this.historySamples += samples.length;
    while (this.historySamples - this.history[0]!.length >= this.maxHistorySamples) {
      this.historySamples -= this.history.shift()!.length;
    }
  }

  private historySince(ms: number): Int16Array {
    const all = concatSamples(this.history);
    const historyStartMs = this.nowMs - (all.length * 1000) / this.options.sampleRate;
    const skip = Math.max(0, Math.round(((ms - historyStartMs) * this.options.sampleRate) / 1000));
    return all.slice(Math.min(skip, all.length));
  }
}
