import { RecentAudio } from './recent-audio.js';
import type { StopWordMatch, StopWordMatcher } from './stop-words.js';

/**
 * Speech to text: what was said in `pcm` (mono 16-bit PCM at `sampleRate`). `signal` aborts when the
 * answer is no longer wanted (the session ended, the stop word was heard, or it took too long).
 */
export type Transcribe = (pcm: Int16Array, sampleRate: number, signal: AbortSignal) => Promise<string>;

/** A stop word heard in a window of the caller's audio; times are stream time (ms of audio received). */
export interface StopWordHeard extends StopWordMatch {
  /** The window's transcript. */
  text: string;
  /** Where the window that held the stop word began. */
  windowStartMs: number;
  /** Where it ended: the stop word was said before this. */
  windowEndMs: number;
  /**
   * The stop word ended after this point: the end of the last window transcribed without it, or
   * this window's start. What follows the stop word lies after it.
   */
  endedAfterMs: number;
}

export interface StopWordSpotterOptions {
  sampleRate: number;
  matcher: StopWordMatcher;
  transcribe: Transcribe;
  /** Audio in each window (ms). */
  windowMs: number;
  /** During continuous speech, a window every this many ms. */
  hopMs: number;
  /** Silence after speech (ms) that makes a window (so that windows end between words, not in one). */
  pauseMs: number;
  /** The longest window, when transcriptions fall behind and a window grows to cover the backlog (ms). */
  maxWindowMs: number;
  /** A transcription not answered within this much audio (ms) is given up and its window tried once more. */
  timeoutMs: number;
  onHeard(heard: StopWordHeard): void;
  onError(error: unknown): void;
}

interface Window {
  start: number;
  end: number;
  retried: boolean;
}

/** Windows waiting while one is transcribed; beyond this the oldest is dropped. */
const MAX_PENDING = 3;

/**
 * Listens for stop words in short windows of the caller's audio, FastRTC's way (it transcribes the
 * last 2 s every 0.6 s), with fewer requests: a window is made when the caller pauses (`pauseMs`
 * after speech) and every `hopMs` of continuous speech, never in silence. A window reaches back
 * `windowMs` but never into a turn that has ended (`turnEnded()`), so a stop word it holds belongs
 * to the turn in progress. One transcription runs at a time; windows made meanwhile wait (a later
 * one of the same turn grows to cover them, up to maxWindowMs). After a match it is deaf until
 * `listen()`. Time is stream time: samples received.
 */
export class StopWordSpotter {
  private readonly audio: RecentAudio;
  private readonly samples: (ms: number) => number;
  private received = 0;
  /** Windows start here at the earliest: the end of the last turn (or where listening began). */
  private boundary = 0;
  private voiceStart: number | undefined;
  private silentRun = 0;
  private lastWindowEnd = 0;
  /** The end of the last window transcribed without a stop word. */
  private transcribedUntil = 0;
  private pending: Window[] = [];
  private inFlight: { window: Window; controller: AbortController; since: number } | undefined;
  private listening = true;
  private closed = false;

  constructor(private readonly options: StopWordSpotterOptions) {
    this.samples = (ms: number) => Math.round((ms * options.sampleRate) / 1000);
    this.audio = new RecentAudio(Math.max(this.samples(options.windowMs), this.samples(options.maxWindowMs)));
  }

  /** True until a stop word is heard, and again after `listen()`. */
  get isListening(): boolean {
    return this.listening;
  }

  /** Takes the next frame; `voice` says whether the VAD hears speech in it. */
  push(samples: Int16Array, voice: boolean): void {
    this.received += samples.length;
    if (!this.listening || this.closed) return;
    this.audio.append(samples);
    if (voice) {
      this.voiceStart ??= this.received - samples.length;
      this.silentRun = 0;
    } else {
      this.silentRun += samples.length;
    }
    const inFlight = this.inFlight;
    if (inFlight && this.received - inFlight.since > this.samples(this.options.timeoutMs)) this.giveUp(inFlight.window);
    if (this.voiceStart !== undefined) {
      const paused = this.silentRun >= this.samples(this.options.pauseMs);
      const long = this.received - Math.max(this.voiceStart, this.lastWindowEnd) >= this.samples(this.options.hopMs);
      if (paused || long) this.makeWindow();
    }
    this.transcribeNext();
  }

  /** A turn ended at `atMs` (stream time): later windows do not reach back into it. */
  turnEnded(atMs: number): void {
    this.boundary = Math.max(this.boundary, Math.min(this.received, this.samples(atMs)));
  }

  /** Listens afresh: what was heard before is not transcribed again, and an answer still coming is ignored. */
  listen(): void {
    this.stopTranscribing();
    this.audio.clear();
    this.boundary = this.lastWindowEnd = this.transcribedUntil = this.received;
    this.voiceStart = undefined;
    this.silentRun = 0;
    this.listening = true;
  }

  close(): void {
    this.closed = true;
    this.stopTranscribing();
  }

  private stopTranscribing(): void {
    this.inFlight?.controller.abort();
    this.inFlight = undefined;
    this.pending = [];
  }

  private makeWindow(): void {
    const end = this.received;
    const oldest = Math.max(this.boundary, end - this.audio.length);
    const last = this.pending.at(-1);
    if (last && last.start >= this.boundary) {
      // Still waiting, same turn: the waiting window grows to cover this one too.
      last.end = end;
      last.start = Math.max(last.start, oldest, end - this.samples(this.options.maxWindowMs));
    } else {
      this.pending.push({ start: Math.max(oldest, end - this.samples(this.options.windowMs)), end, retried: false });
      if (this.pending.length > MAX_PENDING) this.pending.shift();
    }
    this.lastWindowEnd = end;
    this.voiceStart = undefined;
    this.silentRun = 0;
  }

  private transcribeNext(): void {
    if (this.inFlight || !this.listening || this.closed) return;
    const window = this.pending.shift();
    if (!window) return;
    const pcm = this.audio.range(this.received, window.start, window.end);
    if (pcm.length === 0) return this.transcribeNext();
    window.start = window.end - pcm.length;
    const controller = new AbortController();
    this.inFlight = { window, controller, since: this.received };
    transcribeSafely(this.options.transcribe, pcm, this.options.sampleRate, controller.signal).then(
      (text) => this.settle(controller, () => this.check(text, window)),
      (error: unknown) => this.settle(controller, () => this.options.onError(error)),
    );
  }

  private settle(controller: AbortController, then: () => void): void {
    if (controller.signal.aborted) return;
    this.inFlight = undefined;
    then();
    this.transcribeNext();
  }

  /** The transcription in flight took too long: abandoned, and its window tried once more. */
  private giveUp(window: Window): void {
    this.inFlight!.controller.abort();
    this.inFlight = undefined;
    if (!window.retried) this.pending.unshift({ ...window, retried: true });
    this.options.onError(new Error(`the transcription took longer than ${this.options.timeoutMs} ms of audio: given up`));
  }

  private check(text: string, window: Window): void {
    if (!this.listening) return;
    const match = this.options.matcher.match(text);
    if (!match) {
      this.transcribedUntil = Math.max(this.transcribedUntil, window.end);
      return;
    }
    this.listening = false;
    this.stopTranscribing();
    const ms = (samples: number) => (samples * 1000) / this.options.sampleRate;
    const endedAfterMs = ms(Math.max(window.start, Math.min(window.end, this.transcribedUntil)));
    this.options.onHeard({ ...match, text, windowStartMs: ms(window.start), windowEndMs: ms(window.end), endedAfterMs });
  }
}

/** The transcriber's answer; a synchronous throw becomes a rejection. */
async function transcribeSafely(transcribe: Transcribe, pcm: Int16Array, sampleRate: number, signal: AbortSignal): Promise<string> {
  const text: unknown = await transcribe(pcm, sampleRate, signal);
  if (typeof text !== 'string') throw new TypeError(`transcribe() must resolve with a string, got ${typeof text}`);
  return text;
}
