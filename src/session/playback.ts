import { EventEmitter } from 'node:events';
import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import { concatSamples, FrameChunker, samplesPerFrame } from '../audio/framing.js';
import { MULAW_SILENCE } from '../audio/mulaw.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { InterruptReport, PlayedEvent } from './types.js';

/** Where paced audio goes: the transport's side of playback. */
export interface PlaybackSink {
  /**
   * Sends whole frames of audio (transport format) to the far end now. `startsRun` is true when the
   * far end had run dry before this (a new talkspurt); false when it continues audio without a gap,
   * even if it was sent late.
   */
  sendAudio(frame: AudioFrame, startsRun: boolean): void;
  /** Sends a mark the far end echoes once the audio before it has played (Twilio). */
  sendMark?(name: string): void;
  /** Audio and the mark that follows it, in one write where the transport can (optional). */
  sendAudioWithMark?(frame: AudioFrame, startsRun: boolean, mark: string): void;
  /** Tells the far end to drop whatever audio it holds. */
  clear(): void;
}

export interface PlaybackOptions {
  /** The transport's format; queued audio must already be in it. */
  format: AudioFormat;
  clock: Clock;
  /**
   * How much audio to keep queued at the far end ahead of real time (ms, at least one frame). A lead
   * absorbs network jitter; an interruption never has more than the lead to flush.
   */
  leadMs: number;
  /** Frame length (ms). */
  frameMs?: number;
  /** How often to ask for acknowledgements (marks) or report clock progress (ms of audio). Default 200. */
  markEveryMs?: number;
  /** Audio queued beyond this (ms) is dropped and counted: a runaway handler cannot exhaust memory. */
  maxQueuedMs?: number;
  /** Lateness (ms) after which the pacing clock is re-anchored instead of bursting to catch up. */
  maxCatchUpMs?: number;
  /**
   * Called with what went out and when the far end plays it (clock ms): the hot-path counterpart of
   * the `sent` event (one call per send, no event dispatch), for metrics and recordings.
   */
  onSent?(frame: AudioFrame, playAt: number, frames: number): void;
}

export interface PlaybackEvents {
  played: [event: PlayedEvent];
  /** Audio was dropped because the queue was full (ms dropped this time). */
  overflow: [droppedMs: number];
  /** The far end ran dry while audio was being paced (lateness in ms beyond one frame). */
  late: [lateMs: number];
  /** Audio went out; the far end plays it from `playAt` (clock ms). For recordings and metrics. */
  sent: [frame: AudioFrame, playAt: number, frames: number];
  /** How late, against its absolute schedule, a send happened (ms; 0 when on time). For metrics. */
  lateness: [ms: number];
}

interface Run {
  /** When the far end started playing this continuous run (clock ms). */
  start: number;
  /** Audio sent in this run (ms). */
  sentMs: number;
}

/**
 * Outbound audio for one session: a bounded queue of 20 ms frames, paced on an absolute clock so
 * there is no drift, with a bounded lead at the far end, marks for playback progress, and
 * interruption. All timing goes through the injected clock.
 */
export class Playback extends EventEmitter<PlaybackEvents> {
  readonly frameMs: number;
  private readonly frameSamples: number;
  private readonly chunker: FrameChunker<Int16Array | Uint8Array>;
  private readonly queue: (Int16Array | Uint8Array)[] = [];
  private queueHead = 0;
  private partialSince: number | undefined;
  /** When the queue last went from empty to holding audio (clock ms). */
  private filledAt = 0;
  /** When to mark the tail of what was sent, if nothing more comes (clock ms). */
  private tailMarkAt: number | undefined;
  private run: Run | undefined;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closed = false;

  /** Cumulative audio sent to the far end (ms), rewound on interrupt to what was played. */
  private sentTotalMs = 0;
  /** Audio of finished runs (ms). */
  private playedBeforeRunMs = 0;
  /** Position acknowledged by the last mark (ms). */
  private confirmedMs = 0;
  private utteranceStartMs = 0;
  private generation = 0;
  private markSeq = 0;
  private lastMarkAtMs = 0;
  private lastClockReportMs = 0;
  private readonly marks = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];

  droppedMs = 0;
  lateCount = 0;
  flushedMarks = 0;

  constructor(
    private sink: PlaybackSink,
    private readonly options: PlaybackOptions,
  ) {
    super();
    this.frameMs = options.frameMs ?? 20;
    this.frameSamples = samplesPerFrame(options.format.sampleRate, this.frameMs);
    this.chunker = new FrameChunker(this.frameSamples, options.format.encoding === 'pcm16' ? 'int16' : 'uint8');
  }

  get basis(): 'marks' | 'clock' {
    return this.sink.sendMark ? 'marks' : 'clock';
  }

  /** Audio waiting to be sent (ms). */
  get queuedMs(): number {
    return ((this.queue.length - this.queueHead) * this.frameMs) + (this.chunker.pending() * 1000) / this.options.format.sampleRate;
  }

  /** True when nothing is queued and the far end has played everything sent. */
  get idle(): boolean {
    return this.queue.length === this.queueHead && this.chunker.pending() === 0 && this.run === undefined;
  }

  /** Audio sent that the far end has not played yet, by the clock (ms). */
  get aheadMs(): number {
    const run = this.run;
    return run ? Math.max(0, run.start + run.sentMs - this.options.clock.now()) : 0;
  }

  /**
   * Sends from now on to `sink` instead (a room that mixes this audio with the others' before it
   * reaches the transport), pacing and marks unchanged. It must offer marks exactly when the sink it
   * replaces did.
   */
  redirect(sink: PlaybackSink): void {
    this.sink = sink;
  }

  /** Queues audio in the transport's format, of any length. */
  enqueue(frame: AudioFrame): void {
    if (this.closed) return;
    const data = frame.encoding === 'pcm16' ? frame.samples : frame.bytes;
    if (data.length === 0) return;
    if (this.idle) this.utteranceStartMs = this.sentTotalMs;
    const maxQueuedMs = this.options.maxQueuedMs ?? 300_000;
    const incomingMs = (data.length * 1000) / frame.sampleRate;
    if (this.queuedMs + incomingMs > maxQueuedMs) {
      this.droppedMs += incomingMs;
      this.emit('overflow', incomingMs);
      return;
    }
    if (this.queue.length === this.queueHead && this.chunker.pending() === 0) this.filledAt = this.options.clock.now();
    this.chunker.pushInto(data, this.queue);
    if (this.chunker.pending() > 0 && this.partialSince === undefined) this.partialSince = this.options.clock.now();
    if (this.chunker.pending() === 0) this.partialSince = undefined;
    this.tick();
  }

  /**
   * Drops queued audio, tells the far end to flush, and reports how much of the current utterance
   * was played. Marks already sent come back as "flushed", not "played".
   */
  interrupt(): InterruptReport {
    const now = this.options.clock.now();
    const droppedMs = this.queuedMs;
    this.queue.length = 0;
    this.queueHead = 0;
    this.chunker.clear();
    this.partialSince = undefined;

    const sentInUtterance = this.sentTotalMs - this.utteranceStartMs;
    const clockPlayed = Math.min(sentInUtterance, Math.max(0, this.clockPlayedMs(now) - this.utteranceStartMs));
    const confirmed = Math.max(0, Math.min(sentInUtterance, this.confirmedMs - this.utteranceStartMs));
    const basis = this.basis;
    const playedMs = basis === 'marks' ? Math.max(confirmed, clockPlayed) : clockPlayed;
    const report: InterruptReport = {
      playedMs,
      confirmedMs: basis === 'marks' ? confirmed : playedMs,
      unplayedMs: sentInUtterance - playedMs + droppedMs,
      basis,
    };

    if (sentInUtterance > playedMs || this.run) this.sink.clear();
    this.generation++;
    this.marks.clear();
    this.tailMarkAt = undefined;
    this.sentTotalMs = this.utteranceStartMs + playedMs;
    this.playedBeforeRunMs = this.sentTotalMs;
    this.confirmedMs = Math.min(this.confirmedMs, this.sentTotalMs);
    this.lastMarkAtMs = this.sentTotalMs;
    this.lastClockReportMs = this.sentTotalMs;
    this.utteranceStartMs = this.sentTotalMs;
    this.run = undefined;
    this.reschedule();
    this.emitPlayed(this.basis === 'marks' ? this.confirmedMs : this.sentTotalMs);
    this.resolveIdle();
    return report;
  }

  /**
   * The far end echoed a mark. Returns `played` when it acknowledges audio of the current
   * generation, `flushed` when it comes back because of a clear (or is unknown).
   */
  acknowledge(name: string): 'played' | 'flushed' {
    const position = this.marks.get(name);
    if (position === undefined) {
      this.flushedMarks++;
      return 'flushed';
    }
    this.marks.delete(name);
    this.confirmedMs = Math.max(this.confirmedMs, position);
    this.emitPlayed(this.confirmedMs);
    return 'played';
  }

  /** Resolves when everything queued has been sent and played (by the clock). Sends a partial frame padded. */
  drain(): Promise<void> {
    this.flushPartial();
    this.tick();
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once no more than `ms` of audio waits in the queue (backpressure for generators). */
  async belowMs(ms: number): Promise<void> {
    while (!this.closed && this.queuedMs > ms) {
      await new Promise<void>((resolve) => this.options.clock.after(this.frameMs, resolve));
    }
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.queueHead = 0;
    this.chunker.clear();
    this.resolveIdle(true);
  }

  /**
   * Sends what is due and schedules the next wake-up. `scheduledAt` is set when the pacing timer
   * woke us: how late it fired is reported (`lateness`).
   */
  tick(scheduledAt?: number): void {
    if (this.closed) return;
    const now = this.options.clock.now();
    const { leadMs } = this.options;
    if (this.queue.length === this.queueHead && this.partialSince !== undefined && now - this.partialSince >= this.frameMs) {
      this.flushPartial();
    }
    let run = this.run;
    // The far end ran dry before the queued audio arrived: that run is over (no timer needed to see it).
    if (run && now >= run.start + run.sentMs && (this.queue.length === this.queueHead || this.filledAt >= run.start + run.sentMs)) {
      this.endRun();
      run = undefined;
    }
    if (this.queue.length > this.queueHead) {
      if (run) {
        const lateMs = now - (run.start + run.sentMs);
        if (lateMs > (this.options.maxCatchUpMs ?? 200)) {
          this.lateCount++;
          this.emit('late', lateMs);
          this.endRun();
          run = undefined;
        }
      }
      if (!run) run = this.run = { start: now, sentMs: 0 };
      const elapsed = now - run.start;
      let count = 0;
      const available = this.queue.length - this.queueHead;
      while (count < available && run.sentMs + (count + 1) * this.frameMs - elapsed <= leadMs) count++;
      if (count > 0) {
        if (scheduledAt !== undefined && this.listenerCount('lateness') > 0) this.emit('lateness', Math.max(0, now - scheduledAt));
        this.sendFrames(run, count);
      }
    }
    if (this.tailMarkAt !== undefined && now >= this.tailMarkAt && this.queue.length === this.queueHead) this.sendMark();
    this.reportClockProgress(now);
    this.reschedule();
  }

  private sendFrames(run: Run, count: number): void {
    const data = count === 1 ? this.queue[this.queueHead]! : concatSamples(this.queue.slice(this.queueHead, this.queueHead + count));
    this.queueHead += count;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    const frame = this.toFrame(data);
    const startsRun = run.sentMs === 0;
    const playAt = run.start + run.sentMs;
    const ms = count * this.frameMs;
    run.sentMs += ms;
    this.sentTotalMs += ms;
    const markDue = this.sink.sendMark !== undefined && this.sentTotalMs - this.lastMarkAtMs >= (this.options.markEveryMs ?? 200);
    if (markDue && this.sink.sendAudioWithMark) this.sink.sendAudioWithMark(frame, startsRun, this.nextMark());
    else {
      this.sink.sendAudio(frame, startsRun);
      if (markDue) this.sink.sendMark!(this.nextMark());
    }
    // The tail of an utterance gets its mark once no more audio has come for two frames: a stream
    // fed frame by frame (an echo) would otherwise send a mark after every frame.
    if (this.sink.sendMark && !markDue) this.tailMarkAt = this.options.clock.now() + 2 * this.frameMs;
    this.options.onSent?.(frame, playAt, count);
    if (this.listenerCount('sent') > 0) this.emit('sent', frame, playAt, count);
  }

  /** Names a mark for everything sent so far and remembers its position. */
  private nextMark(): string {
    const name = `${this.generation}:${++this.markSeq}`;
    this.marks.set(name, this.sentTotalMs);
    this.lastMarkAtMs = this.sentTotalMs;
    this.tailMarkAt = undefined;
    return name;
  }

  private sendMark(): void {
    this.sink.sendMark!(this.nextMark());
  }

  private toFrame(data: Int16Array | Uint8Array): AudioFrame {
    const sampleRate = this.options.format.sampleRate;
    return data instanceof Int16Array
      ? { encoding: 'pcm16', sampleRate, samples: data }
      : { encoding: 'mulaw', sampleRate, bytes: data };
  }

  private flushPartial(): void {
    if (this.chunker.pending() === 0) return;
    const pad = this.options.format.encoding === 'mulaw' ? MULAW_SILENCE : 0;
    const last = this.chunker.flush(pad);
    if (last) this.queue.push(last);
    this.partialSince = undefined;
  }

  private endRun(): void {
    if (!this.run) return;
    this.playedBeforeRunMs += this.run.sentMs;
    this.run = undefined;
    if (this.basis === 'clock') this.emitPlayed(this.playedBeforeRunMs);
    if (this.idle) this.resolveIdle();
  }

  private clockPlayedMs(now: number): number {
    const run = this.run;
    return this.playedBeforeRunMs + (run ? Math.min(run.sentMs, Math.max(0, now - run.start)) : 0);
  }

  private reportClockProgress(now: number): void {
    if (this.basis !== 'clock' || !this.run) return;
    const played = this.clockPlayedMs(now);
    if (played - this.lastClockReportMs >= (this.options.markEveryMs ?? 200)) this.emitPlayed(played);
  }

  private emitPlayed(playedMs: number): void {
    this.lastClockReportMs = playedMs;
    if (this.listenerCount('played') === 0) return;
    const pendingMs = Math.max(0, this.sentTotalMs - playedMs) + this.queuedMs;
    this.emit('played', { playedMs, pendingMs, idle: pendingMs === 0, basis: this.basis });
  }

  private reschedule(): void {
    const at = this.nextWake();
    // A timer already due no later stays: it wakes, finds what is left to do, and re-arms. This
    // keeps steady streams from cancelling and creating a timer per frame.
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = at;
    if (at !== Infinity) this.timer = this.options.clock.at(at, () => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.tick(at);
    });
  }

  private nextWake(): number {
    if (this.closed) return Infinity;
    const run = this.run;
    if (this.queue.length > this.queueHead && run) return run.start + run.sentMs + this.frameMs - this.options.leadMs;
    let at = this.partialSince !== undefined ? this.partialSince + this.frameMs : Infinity;
    if (this.tailMarkAt !== undefined) at = Math.min(at, this.tailMarkAt);
    // The end of a run only needs a timer where something waits for it: clock-based progress
    // (marks report it otherwise) or a drain(). A new enqueue notices a finished run by itself.
    if (run && (this.basis === 'clock' || this.idleWaiters.length > 0)) at = Math.min(at, run.start + run.sentMs);
    return at;
  }

  private resolveIdle(force = false): void {
    if (!force && !this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
