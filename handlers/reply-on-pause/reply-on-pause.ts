import type {
  AudioFrame,
  CallFacts,
  EmitItem,
  InterruptReport,
  Logger,
  PlayedEvent,
  SessionContext,
  StreamHandler,
} from '../../src/index.js';
import type { InputValues } from '../../src/inputs/spec.js';
import { EnergyDetector } from './energy-detector.js';
import type { PauseDetector, SpeechScorer } from './pause-detector.js';
import { SileroDetector } from './silero-detector.js';
import { type TurnEvent, TurnDetector } from './turn-detector.js';

/** What the user said in one turn: PCM at the handler's input rate, padded around the speech. */
export interface Utterance {
  samples: Int16Array;
  sampleRate: number;
  /** Speech in it (ms), as the VAD judged. */
  speechMs: number;
}

/** Everything a reply function may need beside the audio. */
export interface TurnContext {
  /** Aborted when the user interrupts this reply or the session ends: pass it to fetch(). */
  readonly signal: AbortSignal;
  readonly inputs: Readonly<InputValues>;
  readonly facts: Readonly<CallFacts>;
  readonly log: Logger;
  /** The session itself (send messages, read the id, ...). */
  readonly session: SessionContext;
  /** When the previous reply was cut by the user: how much of it they heard. */
  readonly interrupted?: InterruptReport;
}

/** A reply: audio frames (any format) and AdditionalOutputs, as an (async) iterable or a promise of one. */
export type ReplyResult = AsyncIterable<EmitItem> | Iterable<EmitItem> | Promise<AsyncIterable<EmitItem> | Iterable<EmitItem> | EmitItem | void> | void;

export type ReplyFunction = (utterance: Utterance, turn: TurnContext) => ReplyResult;
export type StartupFunction = (turn: TurnContext) => ReplyResult;

/** Voice-activity options (Silero's names, conversational defaults). */
export interface VadOptions {
  /** Speech probability threshold. Default 0.5. */
  threshold?: number;
  /** Silence that ends a turn (ms). Default 600 (FastRTC's Silero default of 2000 would delay every reply 2 s). */
  minSilenceDurationMs?: number;
  /** Audio kept before and after the speech (ms). Default 200. */
  speechPadMs?: number;
  /** Baseline for benchmarks: FastRTC's chunked decisions every this many ms (e.g. 600). Unset in real use. */
  chunkMs?: number;
}

export interface ReplyOnPauseOptions {
  /** New speech during a reply stops it (barge-in). Default true. */
  canInterrupt?: boolean;
  /** Continuous speech (s) before the user counts as talking. Default 0.2 (FastRTC's). */
  startedTalkingThreshold?: number;
  /** Speech (s) a turn needs to get a reply; less is noise. Default 0.25. */
  speechThreshold?: number;
  /** A turn this long (s) gets its reply without waiting for a pause. Default: no limit. */
  maxContinuousSpeechS?: number;
  /** Speech over a reply must last this long (ms) to interrupt it: a cough or an echo does not. Default 300. */
  minInterruptionMs?: number;
  /** Rate of the utterance given to the reply function (and of the VAD): 8000 or 16000. Default 16000. */
  inputSampleRate?: 8000 | 16000;
  vad?: VadOptions;
  /** The VAD. Default: Silero v5 when onnxruntime-node is installed, else the energy detector (with a warning). */
  detector?: PauseDetector;
  /** Said when the session starts (played like a reply). */
  startupFn?: StartupFunction;
  /** Ask the client for fresh inputs (send_input) before each reply. Default false: the latest inputs are used. */
  needsInputs?: boolean;
}

let sharedDetector: PauseDetector | undefined;

/**
 * FastRTC's most used handler, streaming: the user talks, pauses, and `fn` runs on what they said,
 * its audio played back. The pause is found `vad.minSilenceDurationMs` after speech ends (one 32 ms
 * window of precision), not at the next 0.6 s chunk. Speech over a reply for `minInterruptionMs`
 * aborts `fn` (its signal), drops queued audio and flushes the far end; the next turn learns what
 * was heard.
 */
export class ReplyOnPause implements StreamHandler {
  readonly inputFormat;
  /** The session, from startUp(). */
  protected ctx: SessionContext | undefined;
  /** The turn logic on the VAD, from startUp(). */
  protected detector: TurnDetector | undefined;
  private scorer: SpeechScorer | undefined;
  private reply: AbortController | undefined;
  private generating = false;
  private playing = false;
  private interrupted: InterruptReport | undefined;
  private replying: Promise<void> | undefined;
  /** Replies started in this session (for tests and logs). */
  replies = 0;

  constructor(
    private readonly fn: ReplyFunction,
    private readonly options: ReplyOnPauseOptions = {},
  ) {
    this.inputFormat = { encoding: 'pcm16', sampleRate: options.inputSampleRate ?? 16000 } as const;
  }

  copy(): ReplyOnPause {
    return new ReplyOnPause(this.fn, this.options);
  }

  /** True while a reply is being generated or is still playing. */
  get responding(): boolean {
    return this.generating || this.playing;
  }

  async startUp(ctx: SessionContext): Promise<void> {
    this.ctx = ctx;
    const rate = this.inputFormat.sampleRate;
    this.scorer = await this.createScorer(rate, ctx.log);
    const vad = this.options.vad ?? {};
    this.detector = new TurnDetector(this.scorer, {
      sampleRate: rate,
      threshold: vad.threshold ?? 0.5,
      startedTalkingMs: (this.options.startedTalkingThreshold ?? 0.2) * 1000,
      minSilenceMs: vad.minSilenceDurationMs ?? 600,
      speechPadMs: vad.speechPadMs ?? 200,
      minSpeechMs: (this.options.speechThreshold ?? 0.25) * 1000,
      maxSpeechMs: (this.options.maxContinuousSpeechS ?? Infinity) * 1000,
      chunkMs: vad.chunkMs,
    });
    ctx.on('played', (event: PlayedEvent) => {
      if (event.idle) this.playing = false;
    });
    const startup = this.options.startupFn;
    if (startup) this.startReply((signal) => startup(this.turnContext(signal)));
  }

  /** Scores the audio as it comes; a returned promise makes the session hold (bounded) while busy. */
  async receive(frame: AudioFrame): Promise<void> {
    const detector = this.detector;
    if (!detector || frame.encoding !== 'pcm16') return;
    if (this.responding && this.options.canInterrupt === false) return;
    const events = await detector.push(frame.samples);
    for (const event of events) this.onTurnEvent(event);
    if (this.responding && this.speechInterrupts(detector)) this.bargeIn();
  }

  /** Speech over a reply cuts it once it has lasted `minInterruptionMs` (ReplyOnStopWords: never, only its stop word). */
  protected speechInterrupts(detector: TurnDetector): boolean {
    return detector.talking && detector.currentSpeechMs >= (this.options.minInterruptionMs ?? 300);
  }

  /** Stops the reply in flight and waits for it to settle, then frees the VAD state. */
  async shutdown(): Promise<void> {
    this.reply?.abort();
    await this.replying;
    this.scorer?.close?.();
  }

  /** Starts a reply; the one in flight is kept, so that shutdown() can wait for it (never rejects). */
  private startReply(start: (signal: AbortSignal) => ReplyResult, needsInputs = false): void {
    this.replying = this.respond(start, needsInputs);
  }

  private async createScorer(rate: 8000 | 16000, log: Logger): Promise<SpeechScorer> {
    if (this.options.detector) return this.options.detector.createScorer(rate);
    sharedDetector ??= new SileroDetector();
    try {
      return await sharedDetector.createScorer(rate);
    } catch (error) {
      if (!(sharedDetector instanceof EnergyDetector)) {
        log.warn({ err: error }, 'Silero VAD unavailable (is onnxruntime-node installed?): using the energy detector instead');
        sharedDetector = new EnergyDetector();
      }
      return sharedDetector.createScorer(rate);
    }
  }

  /** What each turn gets: ReplyOnPause replies to every turn that ends. */
  protected onTurnEvent(event: TurnEvent): void {
    const ctx = this.ctx!;
    if (event.type === 'started') {
      ctx.sendMessage({ type: 'log', data: 'started_talking' });
      ctx.log.debug({ atMs: Math.round(event.atMs) }, 'started talking');
      return;
    }
    if (event.type === 'discarded') {
      ctx.log.debug({ speechMs: event.speechMs }, 'too little speech for a turn');
      return;
    }
    this.replyTo({ samples: event.utterance, sampleRate: this.inputFormat.sampleRate, speechMs: event.speechMs }, event.forced);
  }

  /** The turn is over: cut the reply in flight (if any) and reply to `utterance`. */
  protected replyTo(utterance: Utterance, forced = false): void {
    const ctx = this.ctx!;
    ctx.sendMessage({ type: 'log', data: 'pause_detected' });
    ctx.log.info({ speechMs: Math.round(utterance.speechMs), forced }, 'pause detected: replying');
    if (this.responding && this.options.canInterrupt !== false) this.bargeIn();
    this.startReply((signal) => this.fn(utterance, this.turnContext(signal)), this.options.needsInputs);
  }

  /** The user talks over the reply: stop producing, drop and flush what is queued, remember what was heard. */
  protected bargeIn(): void {
    const ctx = this.ctx!;
    this.reply?.abort();
    this.reply = undefined;
    this.generating = false;
    this.playing = false;
    this.interrupted = ctx.interrupt();
    ctx.log.info({ heard: this.interrupted }, 'barge-in: reply interrupted');
  }

  private turnContext(signal: AbortSignal): TurnContext {
    const ctx = this.ctx!;
    const interrupted = this.interrupted;
    this.interrupted = undefined;
    return { signal, inputs: ctx.inputs, facts: ctx.facts, log: ctx.log, session: ctx, interrupted };
  }

  /** Runs one reply to its end or until aborted, sending what it yields at playback pace. */
  private async respond(start: (signal: AbortSignal) => ReplyResult, needsInputs = false): Promise<void> {
    const ctx = this.ctx!;
    this.reply?.abort();
    const abort = new AbortController();
    const onSessionEnd = () => abort.abort();
    ctx.signal.addEventListener('abort', onSessionEnd, { once: true });
    this.reply = abort;
    this.generating = true;
    this.replies++;
    let started = false;
    const onItem = (item: EmitItem) => {
      if (!isAudio(item)) return;
      if (!started) ctx.sendMessage({ type: 'log', data: 'response_starting' });
      started = true;
      this.playing = true;
    };
    try {
      if (needsInputs) await ctx.waitForInputs();
      await ctx.play(toItems(start(abort.signal)), { signal: abort.signal, onItem });
    } catch (error) {
      if (!abort.signal.aborted) {
        ctx.log.error({ err: error }, 'the reply function failed; waiting for the next turn');
        ctx.sendMessage({ type: 'error', message: `The reply failed: ${(error as Error).message}` });
      }
    } finally {
      ctx.signal.removeEventListener('abort', onSessionEnd);
      // Playing ends with the far end's idle report (a `played` event), not here: audio may still be queued.
      if (this.reply === abort) this.generating = false;
    }
  }
}

function isAudio(item: EmitItem): item is AudioFrame {
  return typeof item === 'object' && item !== null && 'encoding' in item;
}

/** Whatever a reply function returned, as one async stream of items. */
async function* toItems(result: ReplyResult): AsyncGenerator<EmitItem> {
  const value = await result;
  if (value === undefined || value === null) return;
  if (typeof value === 'object' && (Symbol.asyncIterator in value || Symbol.iterator in value)) {
    yield* value as AsyncIterable<EmitItem> | Iterable<EmitItem>;
    return;
  }
  yield value as EmitItem;
}
