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
 * on the right, aligned in time (inbound by samples received, outbound by when the far end plays
 * it). The file is finished on every kind of session end.
 */
export class SessionRecorder {
  readonly file: string;
  private readonly writer: StereoWavWriter;
  private readonly inbound: ToFormat;
  private readonly outbound: ToFormat;
  private inboundPosition = 0;
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
    session.on('inbound', (frame) => this.onInbound(frame));
    session.on('outbound', (frame, playAt) => this.onOutbound(frame, playAt));
    const flushEveryMs = 1000;
    const periodic = () => {
      // Write what is safely in the past: outbound audio is placed up to the lead ahead of now.
      void this.writer.flush(this.inboundPosition - rate / 2);
      this.tick = this.clock.after(flushEveryMs, periodic);
    };
    this.timer = this.clock.after(flushEveryMs, periodic);
    this.finished = new Promise((resolve) => {
      session.once('stop', () => {
        this.timer.cancel();
        this.tick?.cancel();
        this.writer.close().then(resolve, (error: unknown) => {
          session.log.error({ err: error, file: this.file }, 'recording could not be finished');
          resolve();
        });
      });
    });
  }

  private onInbound(frame: AudioFrame): void {
    const pcm = this.inbound.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    this.writer.write(0, this.inboundPosition, pcm.samples);
    this.inboundPosition += pcm.samples.length;
  }

  private onOutbound(frame: AudioFrame, playAt: number): void {
    const pcm = this.outbound.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    const position = Math.round(((playAt - this.session.startedAt) * this.writer.sampleRate) / 1000);
    this.writer.write(1, Math.max(0, position), pcm.samples);
  }
}
