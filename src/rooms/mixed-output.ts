import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import { mulawDecode, mulawEncode } from '../audio/mulaw.js';
import { Resampler } from '../audio/resample.js';
import type { Clock } from '../clock.js';
import type { PlaybackSink } from '../session/playback.js';
import { Limiter, MixBus } from './mixer.js';

const FRAME_MS = 20;

interface Pending {
  /** One 20 ms frame of the handler's audio, in the transport's format. */
  data: Int16Array | Uint8Array;
  /** Marks Playback sent after it: they follow it to the transport. */
  marks: string[] | undefined;
}

/**
 * What a participant's far end receives while it is in a room: its handler's paced audio mixed with
 * the room's mix for it, one 20 ms frame each time the room delivers one. Playback sends the
 * handler's audio here instead of to the transport (pacing, marks and interruption unchanged); the
 * lead it keeps ahead of the far end waits here instead, so the room's voices never queue behind
 * it. Marks follow the audio they were sent after; `clear()` (the handler's interrupt) drops the
 * handler's audio only, and the room's next frame goes out as usual.
 */
export class MixedOutput implements PlaybackSink {
  readonly sendMark: ((name: string) => void) | undefined;
  private readonly pending: Pending[] = [];
  private head = 0;
  private readonly outSamples: number;
  private readonly resampler: Resampler | undefined;
  private readonly bus: MixBus;
  private readonly limiter = new Limiter();
  private readonly mixed: Int16Array;
  private readonly silence: Int16Array;
  /** Frames of silence fed to the resampler since the last voice (its history is quiet after two). */
  private quietFrames = 2;
  /** The far end still holds audio Playback sent before the room took over, until then (clock ms). */
  private holdUntil: number;
  private lastSentAt = -Infinity;
  private closed = false;
  /** Room frames not sent because the far end still held audio (joining), or this output was late. */
  skipped = 0;
  sent = 0;

  constructor(
    private readonly transport: PlaybackSink,
    private readonly format: AudioFormat,
    roomRate: number,
    private readonly clock: Clock,
    /** Audio the far end holds already (ms): room frames wait until it has played. */
    aheadMs: number,
  ) {
    this.outSamples = (format.sampleRate * FRAME_MS) / 1000;
    this.resampler = roomRate === format.sampleRate ? undefined : new Resampler(roomRate, format.sampleRate);
    this.bus = new MixBus(this.outSamples);
    this.mixed = new Int16Array(this.outSamples);
    this.silence = new Int16Array((roomRate * FRAME_MS) / 1000);
    this.holdUntil = clock.now() + aheadMs;
    const transportMark = transport.sendMark?.bind(transport);
    this.sendMark = transportMark && ((name: string) => this.queueMark(name, transportMark));
  }

  /** The handler's audio waiting for the room's next frames (ms). */
  get queuedMs(): number {
    return (this.pending.length - this.head) * FRAME_MS;
  }

  // Playback's side.

  sendAudio(frame: AudioFrame, _startsRun: boolean): void {
    if (this.closed) return;
    const data = frame.encoding === 'pcm16' ? frame.samples : frame.bytes;
    const n = this.outSamples;
    for (let at = 0; at + n <= data.length; at += n) this.pending.push({ data: data.subarray(at, at + n), marks: undefined });
  }

  sendAudioWithMark(frame: AudioFrame, startsRun: boolean, mark: string): void {
    this.sendAudio(frame, startsRun);
    this.sendMark?.(mark);
  }

  /** The handler interrupted itself: its audio waiting here goes, and the far end flushes what it holds. */
  clear(): void {
    this.pending.length = 0;
    this.head = 0;
    this.transport.clear();
  }

  // The room's side.

  /**
   * One tick of the room: `mix` (PCM at the room's rate, what this participant hears of the others;
   * undefined for silence) plus the handler's next frame go to the transport now, as one frame.
   */
  deliver(mix: Int16Array | undefined): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (now < this.holdUntil - FRAME_MS / 2) {
      this.skipped++;
      return;
    }
    const entry = this.head < this.pending.length ? this.pending[this.head++] : undefined;
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    }
    const voice = this.toOutputRate(mix);
    let data: Int16Array | Uint8Array;
    if (!entry) data = this.encode(voice ?? this.mixed.fill(0));
    else if (!voice) data = entry.data;
    else {
      this.bus.clear();
      this.bus.add(voice);
      this.bus.add(entry.data instanceof Uint8Array ? mulawDecode(entry.data) : entry.data);
      this.limiter.render(this.bus.total, undefined, this.mixed);
      data = this.encode(this.mixed);
    }
    this.send(data, entry?.marks, now);
  }

  /** Leaving the room: the handler's audio still waiting goes to the transport at once, marks after it. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    const now = this.clock.now();
    for (let i = this.head; i < this.pending.length; i++) this.send(this.pending[i]!.data, this.pending[i]!.marks, now);
    this.pending.length = 0;
    this.head = 0;
  }

  /** The session ended: nothing more is sent. */
  close(): void {
    this.closed = true;
    this.pending.length = 0;
    this.head = 0;
  }

  private queueMark(name: string, transportMark: (name: string) => void): void {
    const last = this.pending[this.pending.length - 1];
    if (this.closed || this.head === this.pending.length || !last) {
      // Everything sent before the mark already went out: it can follow at once.
      transportMark(name);
      return;
    }
    (last.marks ??= []).push(name);
  }

  private send(data: Int16Array | Uint8Array, marks: string[] | undefined, now: number): void {
    const frame: AudioFrame = data instanceof Uint8Array
      ? { encoding: 'mulaw', sampleRate: this.format.sampleRate, bytes: data }
      : { encoding: 'pcm16', sampleRate: this.format.sampleRate, samples: data };
    const startsRun = now - this.lastSentAt > 1.5 * FRAME_MS;
    this.lastSentAt = now;
    this.sent++;
    const transport = this.transport;
    if (marks && transport.sendAudioWithMark) {
      transport.sendAudioWithMark(frame, startsRun, marks[0]!);
      for (let i = 1; i < marks.length; i++) transport.sendMark!(marks[i]!);
    } else {
      transport.sendAudio(frame, startsRun);
      if (marks) for (const mark of marks) transport.sendMark!(mark);
    }
  }

  /** The room's PCM at the transport's rate (a view, valid until the next call); undefined when silent. */
  private toOutputRate(mix: Int16Array | undefined): Int16Array | undefined {
    const resampler = this.resampler;
    if (!resampler) return mix;
    if (!mix) {
      // Let the filter's history run out on silence, then stop feeding it.
      if (this.quietFrames >= 2) return undefined;
      this.quietFrames++;
      return resampler.process(this.silence);
    }
    this.quietFrames = 0;
    return resampler.process(mix);
  }

  private encode(pcm: Int16Array): Int16Array | Uint8Array {
    if (this.format.encoding === 'mulaw') return mulawEncode(pcm);
    return pcm.slice();
  }
}
