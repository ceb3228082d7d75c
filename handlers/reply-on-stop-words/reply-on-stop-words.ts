import type { AudioFrame, SessionContext } from '../../src/index.js';
import { ReplyOnPause, type ReplyFunction, type ReplyOnPauseOptions } from '../reply-on-pause/reply-on-pause.js';
import type { TurnDetector, TurnEvent } from '../reply-on-pause/turn-detector.js';
import { type StopWordHeard, StopWordSpotter, type Transcribe } from './stop-word-spotter.js';
import { StopWordMatcher } from './stop-words.js';

/** Options of ReplyOnStopWords: ReplyOnPause's (but minInterruptionMs: only the stop word cuts a reply) and the stop words'. */
export interface ReplyOnStopWordsOptions extends Omit<ReplyOnPauseOptions, 'minInterruptionMs'> {
  /** Words or phrases that open a turn ("computer", "ok computer"): case and punctuation do not matter, whole words only. */
  stopWords: string[];
  /** Speech to text for the windows the stop words are looked for in: `openaiTranscriber()`, or your own. */
  transcribe: Transcribe;
  /** Audio in each transcribed window (ms). Default 2000 (FastRTC's). */
  windowMs?: number;
  /** During continuous speech, a window every this many ms (FastRTC: 600, with a local model). Default 1000: each window is one request. */
  hopMs?: number;
  /** Silence after speech that makes a window (ms), so that windows end between words. Default 200. */
  pauseMs?: number;
  /** A transcription not answered within this much audio (ms) is given up, and its window tried once more. Default 10000. */
  transcribeTimeoutMs?: number;
}

type EndedTurn = Extract<TurnEvent, { type: 'ended' }>;

/**
 * FastRTC's ReplyOnStopWords: ReplyOnPause, but each reply needs its stop word. The caller's speech
 * is transcribed in short windows until a stop word is heard (`{type: "stopword", data: word}` goes
 * to the client); then ReplyOnPause's turn-taking gives one reply, to the audio after the stop word
 * (the rest of the utterance when the stop word began it, else the next utterance); then it listens
 * for the stop word again. Only the stop word cuts a reply short.
 */
export class ReplyOnStopWords extends ReplyOnPause {
  private readonly matcher: StopWordMatcher;
  private spotter: StopWordSpotter | undefined;
  /** Set once the stop word is heard, until its reply starts. */
  private heard: StopWordHeard | undefined;
  /** The last turn that ended while listening: its stop word may be in a transcription still to come. */
  private heldTurn: EndedTurn | undefined;
  private failures = 0;

  constructor(
    private readonly replyFn: ReplyFunction,
    private readonly stopWordOptions: ReplyOnStopWordsOptions,
  ) {
    super(replyFn, stopWordOptions);
    this.matcher = new StopWordMatcher(stopWordOptions.stopWords);
  }

  override copy(): ReplyOnStopWords {
    return new ReplyOnStopWords(this.replyFn, this.stopWordOptions);
  }

  override async startUp(ctx: SessionContext): Promise<void> {
    await super.startUp(ctx);
    const windowMs = this.stopWordOptions.windowMs ?? 2000;
    this.spotter = new StopWordSpotter({
      sampleRate: this.inputFormat.sampleRate,
      matcher: this.matcher,
      transcribe: this.stopWordOptions.transcribe,
      windowMs,
      hopMs: Math.min(windowMs, this.stopWordOptions.hopMs ?? 1000),
      pauseMs: this.stopWordOptions.pauseMs ?? 200,
      maxWindowMs: windowMs * 3,
      timeoutMs: this.stopWordOptions.transcribeTimeoutMs ?? 10000,
      onHeard: (heard) => this.onHeard(heard),
      onError: (error) => this.onTranscribeError(error),
    });
  }

  override async receive(frame: AudioFrame): Promise<void> {
    // What ReplyOnPause does not hear (a reply that cannot be interrupted) is not listened to either.
    const deaf = this.responding && this.stopWordOptions.canInterrupt === false;
    await super.receive(frame);
    const detector = this.detector;
    if (deaf || !detector || !this.spotter || frame.encoding !== 'pcm16') return;
    this.spotter.push(frame.samples, detector.speaking);
  }

  override async shutdown(): Promise<void> {
    this.spotter?.close();
    if (this.failures > 1) this.ctx?.log.info({ failures: this.failures }, 'transcriptions failed in this session');
    await super.shutdown();
  }

  /** Speech alone never cuts a reply: only the stop word does. */
  protected override speechInterrupts(_detector: TurnDetector): boolean {
    return false;
  }

  protected override onTurnEvent(event: TurnEvent): void {
    if (event.type !== 'started') this.spotter?.turnEnded(event.atMs);
    if (event.type === 'discarded' || (event.type === 'started' && this.heard !== undefined)) return super.onTurnEvent(event);
    if (event.type !== 'ended') return;
    if (this.heard === undefined) this.heldTurn = event;
    else this.replyAfterStopWord(event);
  }

  private onHeard(heard: StopWordHeard): void {
    const ctx = this.ctx!;
    this.heard = heard;
    ctx.sendMessage({ type: 'stopword', data: heard.stopWord });
    ctx.log.info({ stopWord: heard.stopWord, windowEndMs: Math.round(heard.windowEndMs), after: heard.after }, 'stop word heard');
    if (this.responding && this.stopWordOptions.canInterrupt !== false) this.bargeIn();
    const held = this.heldTurn;
    this.heldTurn = undefined;
    if (held) this.replyAfterStopWord(held);
  }

  /** Replies to what `turn` holds after the stop word; with too little speech left (the stop word alone), the next turn gets it. */
  private replyAfterStopWord(turn: EndedTurn): void {
    const cutMs = cutPoint(turn, this.heard!);
    if (cutMs === undefined) return;
    const speechMs = speechAfter(turn, cutMs);
    if (speechMs < this.minSpeechMs) {
      this.ctx!.log.debug({ speechMs }, 'too little speech after the stop word: the next turn gets the reply');
      return;
    }
    const rate = this.inputFormat.sampleRate;
    const skip = Math.min(turn.utterance.length, Math.max(0, Math.round(((cutMs - turn.startMs) * rate) / 1000)));
    this.heard = undefined;
    this.spotter!.listen();
    this.replyTo({ samples: turn.utterance.subarray(skip), sampleRate: rate, speechMs }, turn.forced);
  }

  private get minSpeechMs(): number {
    return (this.stopWordOptions.speechThreshold ?? 0.25) * 1000;
  }

  private onTranscribeError(error: unknown): void {
    const ctx = this.ctx!;
    if (this.failures++ > 0) return ctx.log.debug({ err: error }, 'transcription failed');
    // The details (an API's message) go to the log; the client learns only that stop words cannot be heard.
    ctx.log.warn({ err: error }, 'transcription failed: stop words cannot be heard until it works (further failures are logged at debug)');
    ctx.sendMessage({ type: 'warning', message: 'Transcription failed: the stop word cannot be heard for now.' });
  }
}

/** Speech in `turn` after `ms` (stream time). */
function speechAfter(turn: EndedTurn, ms: number): number {
  return turn.speechSpans.reduce((sum, span) => sum + Math.max(0, span.endMs - Math.max(span.startMs, ms)), 0);
}

/**
 * Where the reply's audio begins in `turn`, or undefined when the turn ended before the stop word's
 * window did (windows never reach into an ended turn, so it came before the stop word).
 * - A turn that starts after the window: all of it.
 * - The turn the stop word is in: when the transcript has words after the stop word, from
 *   `endedAfterMs` (every word after the stop word is after it; the stop word's tail may come
 *   along: better than losing a word). When it ends with the stop word, from the window's end, or,
 *   when the caller ran straight on through it, from the start of that stretch of speech.
 */
function cutPoint(turn: EndedTurn, heard: StopWordHeard): number | undefined {
  const end = heard.windowEndMs;
  if (turn.startMs >= end) return turn.startMs;
  if (turn.atMs < end) return undefined;
  if (heard.after) return Math.max(turn.startMs, heard.endedAfterMs);
  const crossing = turn.speechSpans.find((span) => span.startMs < end && span.endMs > end);
  return crossing ? Math.max(crossing.startMs, heard.endedAfterMs) : end;
}
