import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ToFormat } from '../audio/convert.js';
import type { AudioFrame } from '../audio/frame.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Session } from '../session/session.js';
import { StereoWavWriter } from './wav-writer.js';

export interface RecordOptions {
  /** Directory for the files (`<sessionId>.wav`); created when missing. */
  directory: string;
  /** Sample rate of the recording. Default 16000. */
  sampleRate?: number;
}

/**
 * Records one session, whatever its transport, to a stereo WAV: the caller on the left, the handler
 * on the right, aligned in time. The caller's audio is laid down sample after sample from where its
 * first frame arrived; the handler's audio goes where the far end plays it, mapped onto the caller's
 * timeline (see {@link TimelineAnchor}) so that a late or bursty sender does not shift one channel
 * against the other. The file is finished on every kind of session end.
 */
export class SessionRecorder {
  readonly file: string;
  private readonly writer: StereoWavWriter;
  private readonly inbound: ToFormat;
  private readonly outbound: ToFormat;
  /** Where the next inbound sample goes; undefined until the first inbound frame. */
  private inboundPosition: number | undefined;
  private readonly anchor: TimelineAnchor;
  private readonly timer: TimerHandle;
  private tick: TimerHandle | undefined;
  readonly finished: Promise<void>;

  constructor(
    private readonly session: Session,
    options: RecordOptions,
    private readonly clock: Clock,
  ) {
    const rate = options.sampleRate ?? 16000;
    mkdirSync(options.directory, { recursive: true });
    this.file = path.join(options.directory, `${session.id.replace(/[^A-Za-z0-9_-]/g, '_')}.wav`);
    this.writer = new StereoWavWriter(this.file, rate);
    this.inbound = new ToFormat({ encoding: 'pcm16', sampleRate: rate });
    this.outbound = new ToFormat({ encoding: 'pcm16', sampleRate: rate });
    this.anchor = new TimelineAnchor();
    session.on('inbound', (frame) => this.onInbound(frame));
    session.on('outbound', (frame, playAt) => this.onOutbound(frame, playAt));
    const flushEveryMs = 1000;
    const periodic = () => {
      // Write what is safely in the past: outbound audio is placed up to the lead ahead of now.
      void this.writer.flush(this.positionAt(this.clock.now()) - rate / 2);
      this.tick = this.clock.after(flushEveryMs, periodic);
    };
    this.timer = this.clock.after(flushEveryMs, periodic);
    this.finished = new Promise((resolve) => {
      session.onEnd(() => {
        this.timer.cancel();
        this.tick?.cancel();
        this.writer.close().then(resolve, (error: unknown) => {
          session.log.error({ err: error, file: this.file }, 'recording could not be finished');
          resolve();
        });
      });
    });
  }

  /** Samples since the session started, by the clock (fractional). */
  private clockSamples(time: number): number {
    return ((time - this.session.startedAt) * this.writer.sampleRate) / 1000;
  }

  /** The recording's position (samples) of a clock time. */
  private positionAt(time: number): number {
    return Math.round(this.clockSamples(time) + this.anchor.offset);
  }

  private onInbound(frame: AudioFrame): void {
    const pcm = this.inbound.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    const clockPosition = this.clockSamples(this.clock.now());
    // A frame arrives once its last sample was captured: the first one ends where it arrived.
    const position = this.inboundPosition ?? Math.max(0, Math.round(clockPosition) - pcm.samples.length);
    this.writer.write(0, position, pcm.samples);
    this.inboundPosition = position + pcm.samples.length;
    this.anchor.observe(this.inboundPosition - clockPosition, pcm.samples.length);
  }

  private onOutbound(frame: AudioFrame, playAt: number): void {
    const pcm = this.outbound.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    this.writer.write(1, Math.max(0, this.positionAt(playAt)), pcm.samples);
  }
}

/**
 * Maps clock time onto the caller's timeline. Each inbound frame says how far ahead of the clock the
 * caller's samples are (`observed`); a frame delayed on the way says less than the truth, never more,
 * so the offset follows the largest observation, and lets go of it slowly (2 ms per second of audio)
 * so that a sender whose clock runs a little slow is still followed.
 */
class TimelineAnchor {
  private observedOffset: number | undefined;
  private static readonly decayPerSample = 0.002;

  /** Samples to add to the clock's position; 0 until the first inbound frame. */
  get offset(): number {
    return this.observedOffset ?? 0;
  }

  observe(observed: number, samples: number): void {
    const previous = this.observedOffset;
    this.observedOffset = previous === undefined ? observed : Math.max(previous - TimelineAnchor.decayPerSample * samples, observed);
  }
}
