import { ToFormat } from '../audio/convert.js';
import { hasDtmfTone } from '../audio/dtmf-detect.js';
import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import { FrameChunker } from '../audio/framing.js';
import type { LeaveReason, ParticipantInfo, RoomCloseReason } from '../session/room-access.js';
import { Limiter } from './mixer.js';
import { SpeakingDetector } from './speaking.js';
import { VoiceBuffer } from './voice-buffer.js';

/** A room event as it travels to a participant's handler (plain JSON: it may cross instances). */
export type RoomNotice =
  | { event: 'join'; participant: ParticipantInfo }
  | { event: 'leave'; participant: ParticipantInfo; reason: LeaveReason }
  | { event: 'speaking'; participant: ParticipantInfo; speaking: boolean }
  | { event: 'close'; reason: RoomCloseReason };

/** Where a participant's mix and events go: its session on this instance, or on another (cluster). */
export interface ParticipantEndpoint {
  /** This tick's mix for the participant (room-rate PCM, valid during the call only; undefined: silence). */
  deliver(mix: Int16Array | undefined): void;
  /** The whole room's mix (room-rate PCM, valid during the call only), when `wantsMix`. */
  mix?(frame: Int16Array): void;
  /** Whether it listens to the whole mix (`mix` events). */
  readonly wantsMix: boolean;
  /** A room event for its handler. */
  tell(notice: RoomNotice): void;
}

/** Audio a handler sends to the whole room (`room.send()`) kept at most this long (ms); more is dropped. */
const MAX_ANNOUNCED_MS = 60_000;
/** After a key tone, the voice stays out of the mix this long (ms): its tail and echo. */
const DTMF_HANG_MS = 60;

/**
 * One participant as the mixing room holds it: its voice (a jitter buffer), what its handler sends
 * to the room, its own limiter, its speaking state, and its endpoint.
 */
export class Participant {
  readonly voice: VoiceBuffer;
  /** This tick's voice (valid when `hasVoice`). */
  readonly frame: Int16Array;
  hasVoice = false;
  /** This tick's announcement (valid when `hasAnnouncement`). */
  readonly announcement: Int16Array;
  hasAnnouncement = false;
  readonly out: Int16Array;
  readonly limiter = new Limiter();
  readonly speaking = new SpeakingDetector();
  /** Its voice is left out of the mix until then (clock ms): a key was pressed. */
  mutedUntil = -Infinity;
  /** Last heard from (clock ms): remote participants whose instance goes silent are dropped. */
  lastHeard: number;
  dtmfFrames = 0;
  droppedAnnouncedMs = 0;
  private readonly announced: Int16Array[] = [];
  private announcedHead = 0;
  private readonly chunker: FrameChunker<Int16Array>;
  private readonly toRoom: ToFormat;

  constructor(
    readonly info: ParticipantInfo,
    readonly endpoint: ParticipantEndpoint,
    private readonly format: AudioFormat,
    readonly frameSamples: number,
    now: number,
    /** The instance that holds its session (cluster), undefined when it is this one. */
    readonly instanceId?: string,
  ) {
    this.voice = new VoiceBuffer(frameSamples);
    this.frame = new Int16Array(frameSamples);
    this.announcement = new Int16Array(frameSamples);
    this.out = new Int16Array(frameSamples);
    this.chunker = new FrameChunker(frameSamples, 'int16');
    this.toRoom = new ToFormat(format);
    this.lastHeard = now;
  }

  /** Audio its handler sends to the whole room, mixed one frame per tick. */
  announce(frame: AudioFrame): void {
    const pcm = this.toRoom.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    const ms = (pcm.samples.length * 1000) / this.format.sampleRate;
    if (this.announcedMs + ms > MAX_ANNOUNCED_MS) {
      this.droppedAnnouncedMs += ms;
      return;
    }
    this.chunker.pushInto(pcm.samples, this.announced);
  }

  /** Audio given to `announce()` not yet mixed (ms). */
  get announcedMs(): number {
    return ((this.announced.length - this.announcedHead) * this.frameSamples + this.chunker.pending()) * 1000 / this.format.sampleRate;
  }

  /** A key was pressed: what waits of its voice goes, and its voice stays out for `ms`. */
  muteFor(ms: number, now: number): void {
    this.mutedUntil = Math.max(this.mutedUntil, now + ms);
    this.voice.clear();
  }

  /** Takes this tick's voice and announcement; key tones are left out. Returns a speaking change. */
  take(now: number, sampleRate: number): boolean | undefined {
    let voice = this.voice.take(this.frame);
    if (voice && hasDtmfTone(this.frame, sampleRate)) {
      this.dtmfFrames++;
      this.mutedUntil = Math.max(this.mutedUntil, now + DTMF_HANG_MS);
    }
    if (voice && now < this.mutedUntil) voice = false;
    this.hasVoice = voice;
    const next = this.announcedHead < this.announced.length ? this.announced[this.announcedHead++] : undefined;
    if (this.announcedHead === this.announced.length) {
      this.announced.length = 0;
      this.announcedHead = 0;
    }
    this.hasAnnouncement = next !== undefined;
    if (next) this.announcement.set(next);
    const change = this.speaking.update(voice ? this.frame : undefined);
    if (change !== undefined) this.info.speaking = change;
    return change;
  }
}
