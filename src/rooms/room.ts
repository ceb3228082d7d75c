import { EventEmitter } from 'node:events';
import type { AudioFormat, AudioFrame, PcmFrame } from '../audio/frame.js';
import type { Clock, TimerHandle } from '../clock.js';
import { CallstreamError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LeaveReason, ParticipantInfo, RoomCloseReason } from '../session/room-access.js';
import { Limiter, MixBus } from './mixer.js';
import type { RoomConnection } from './membership.js';
import { Participant, type ParticipantEndpoint, type RoomNotice } from './participant.js';
import { admitPin } from './room-pin.js';

const FRAME_MS = 20;
/** A tick more than this late is skipped (its voices dropped): the far ends stay live rather than fall behind. */
const MAX_LATE_MS = 2 * FRAME_MS;

/** What server code hears of a room it mixes (`stream.rooms.get(name)`). */
export interface RoomEventMap {
  join: [participant: ParticipantInfo];
  leave: [participant: ParticipantInfo, reason: LeaveReason];
  speaking: [participant: ParticipantInfo, speaking: boolean];
  /** The whole mix, one 20 ms frame per tick (a fresh frame; listened to by recordings). */
  mix: [frame: PcmFrame];
  close: [reason: RoomCloseReason];
}

/** A room as `stream.rooms.list()` describes it (plain JSON). */
export interface RoomInfo {
  name: string;
  /** The rate it mixes at (16-bit PCM). */
  sampleRate: number;
  maxParticipants: number;
  participants: ParticipantInfo[];
  /** When it was created (ms since the epoch). */
  createdAt: number;
  /** The instance that mixes it. */
  instanceId: string;
  /** Its recording (the Stream's `record` option), when there is one. */
  recording?: string;
  /** True when joining it needs a PIN (the PIN itself is never shown). */
  pin?: true;
}

export interface RoomSettings {
  name: string;
  sampleRate: number;
  maxParticipants: number;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  /** The digest of its PIN (room-pin.ts), when it has one. */
  pin?: string;
}

/**
 * A room this instance mixes: its participants (sessions here or on other instances), and the mix
 * clock. Every 20 ms, on absolute deadlines of the Stream's clock (no drift), it takes one frame of
 * each participant's voice and of what handlers sent to the room, sums them in 32-bit integers,
 * and gives each participant the sum less its own voice, through its own limiter. It knows no
 * transport: endpoints turn the mix into each participant's format.
 */
export class Room extends EventEmitter<RoomEventMap> implements RoomConnection {
  readonly name: string;
  readonly format: AudioFormat;
  readonly frameSamples: number;
  readonly maxParticipants: number;
  readonly createdAt = Date.now();
  readonly log: Logger;
  /** @internal Called after each tick (a cluster's forwarding to other instances sends what the tick made). */
  afterTick: (() => void) | undefined;
  /** Its WAV file (mono, the whole mix) when the Stream records; `finished` resolves once it is closed. */
  recording: { file: string; finished: Promise<void> } | undefined;
  /** Ticks run, and ticks skipped because the event loop was too late for them. */
  ticks = 0;
  skippedTicks = 0;
  private readonly participants = new Map<string, Participant>();
  private readonly bus: MixBus;
  private readonly wholeLimiter = new Limiter();
  private readonly whole: Int16Array;
  private readonly clock: Clock;
  private startedAt = 0;
  private next = 0;
  private timer: TimerHandle | undefined;
  private closedWith: RoomCloseReason | undefined;

  /** @internal */
  constructor(private readonly settings: RoomSettings) {
    super();
    this.name = settings.name;
    this.format = { encoding: 'pcm16', sampleRate: settings.sampleRate };
    this.frameSamples = (settings.sampleRate * FRAME_MS) / 1000;
    this.maxParticipants = settings.maxParticipants;
    this.clock = settings.clock;
    this.log = settings.logger.child({ room: settings.name });
    this.bus = new MixBus(this.frameSamples);
    this.whole = new Int16Array(this.frameSamples);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  get size(): number {
    return this.participants.size;
  }

  /** Whether joining needs a PIN. */
  get hasPin(): boolean {
    return this.settings.pin !== undefined;
  }

  /** Everyone in the room now. */
  list(): ParticipantInfo[] {
    return [...this.participants.values()].map((p) => p.info);
  }

  info(): RoomInfo {
    const info: RoomInfo = { name: this.name, sampleRate: this.format.sampleRate, maxParticipants: this.maxParticipants, participants: this.list(), createdAt: this.createdAt, instanceId: this.settings.instanceId };
    if (this.recording) info.recording = this.recording.file;
    if (this.hasPin) info.pin = true;
    return info;
  }

  /** @internal */
  has(id: string): boolean {
    return this.participants.has(id);
  }

  /**
   * @internal Adds a participant; the others hear it from the next tick. Throws ROOM_PIN_REQUIRED or
   * BAD_PIN (before anything about the room is told), then ROOM_FULL.
   */
  add(info: ParticipantInfo, endpoint: ParticipantEndpoint, pin?: string, instanceId?: string): Participant {
    if (this.closed) throw new CallstreamError('ROOM_NOT_FOUND', `Room "${this.name}" is closed.`);
    admitPin(this.name, this.settings.pin, pin);
    if (this.participants.has(info.id)) throw new CallstreamError('BAD_REQUEST', `Session ${info.id} is already in room "${this.name}".`);
    if (this.participants.size >= this.maxParticipants) {
      throw new CallstreamError('ROOM_FULL', `Room "${this.name}" is full (${this.maxParticipants} participants).`, { hint: 'Try again when someone leaves, or create the room with a larger maxParticipants.' });
    }
    const participant = new Participant(info, endpoint, this.format, this.frameSamples, this.clock.now(), instanceId);
    this.participants.set(info.id, participant);
    this.log.info({ participant: info.id, transport: info.transport, participants: this.participants.size }, 'room: joined');
    this.notify({ event: 'join', participant: info }, info.id);
    this.emit('join', info);
    if (!this.timer) this.start();
    return participant;
  }

  /** @internal Removes a participant (the others stop hearing it at once). The last one out closes the room. */
  remove(id: string, reason: LeaveReason): boolean {
    const participant = this.participants.get(id);
    if (!participant) return false;
    this.participants.delete(id);
    this.log.info({ participant: id, reason, participants: this.participants.size, dtmfFrames: participant.dtmfFrames, dropped: participant.voice.dropped }, 'room: left');
    this.notify({ event: 'leave', participant: participant.info, reason });
    this.emit('leave', participant.info, reason);
    if (this.participants.size === 0) this.close('closed');
    return true;
  }

  /** @internal */
  get(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  /** @internal Voice of a participant, already PCM at the room's rate. */
  voice(id: string, samples: Int16Array): void {
    const participant = this.participants.get(id);
    if (!participant) return;
    participant.voice.push(samples);
    participant.lastHeard = this.clock.now();
  }

  /** @internal Audio a participant's handler sends to the whole room. */
  announce(id: string, frame: AudioFrame): void {
    this.participants.get(id)?.announce(frame);
  }

  /** @internal */
  announcedMs(id: string): number {
    return this.participants.get(id)?.announcedMs ?? 0;
  }

  /** @internal */
  muteFor(id: string, ms: number): void {
    this.participants.get(id)?.muteFor(ms, this.clock.now());
  }

  /** @internal Endpoints here are asked each tick whether they want the whole mix: nothing to record. */
  listen(): void {}

  /** Closes the room: every participant is told and let go, the mix clock stops. */
  close(reason: RoomCloseReason): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    this.timer?.cancel();
    this.timer = undefined;
    const left = [...this.participants.values()];
    this.participants.clear();
    for (const participant of left) this.tellOne(participant, { event: 'close', reason });
    this.log.info({ reason, ticks: this.ticks, skippedTicks: this.skippedTicks }, 'room: closed');
    this.emit('close', reason);
    this.removeAllListeners();
  }

  /** @internal When the mix clock started, and the ticks it ran and skipped (for recordings and drift checks). */
  clockState(): { startedAt: number; ticks: number; skippedTicks: number } {
    return { startedAt: this.startedAt, ticks: this.ticks, skippedTicks: this.skippedTicks };
  }

  private start(): void {
    this.startedAt = this.clock.now();
    this.next = this.startedAt + FRAME_MS;
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.clock.at(this.next, () => this.fire());
  }

  /** Runs every tick that is due, against absolute deadlines: lateness never accumulates. */
  private fire(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.clock.now();
    if (now - this.next > 1000) {
      // Far behind (a suspended machine): jump to the present instead of looping over every tick.
      const behind = Math.floor((now - this.next) / FRAME_MS);
      this.next += behind * FRAME_MS;
      this.skippedTicks += behind;
    }
    while (this.next <= now && !this.closed) {
      if (now - this.next > MAX_LATE_MS) this.skip();
      else {
        this.tick(now);
        this.afterTick?.();
      }
      this.next += FRAME_MS;
    }
    if (!this.closed) this.schedule();
  }

  private skip(): void {
    this.skippedTicks++;
    for (const participant of this.participants.values()) participant.take(this.clock.now(), this.format.sampleRate);
  }

  /** One 20 ms frame of the room: every voice in, every listener's mix out. */
  private tick(now: number): void {
    this.ticks++;
    const bus = this.bus;
    bus.clear();
    const rate = this.format.sampleRate;
    const participants = [...this.participants.values()];
    for (const participant of participants) {
      const change = participant.take(now, rate);
      if (participant.hasVoice) bus.add(participant.frame);
      if (participant.hasAnnouncement) bus.add(participant.announcement);
      if (change !== undefined) {
        this.notify({ event: 'speaking', participant: participant.info, speaking: change });
        this.emit('speaking', participant.info, change);
      }
    }
    let wantsWhole = this.listenerCount('mix') > 0;
    for (const participant of participants) {
      if (participant.endpoint.wantsMix) wantsWhole = true;
      let mix: Int16Array | undefined;
      if (bus.voices > 0) {
        const audible = participant.limiter.render(bus.total, participant.hasVoice ? participant.frame : undefined, participant.out);
        mix = audible ? participant.out : undefined;
      }
      try {
        participant.endpoint.deliver(mix);
      } catch (error) {
        this.lost(participant, error);
      }
    }
    if (!wantsWhole) return;
    if (bus.voices > 0) this.wholeLimiter.render(bus.total, undefined, this.whole);
    else this.whole.fill(0);
    for (const participant of participants) {
      if (participant.endpoint.wantsMix) participant.endpoint.mix?.(this.whole);
    }
    if (this.listenerCount('mix') > 0) this.emit('mix', { encoding: 'pcm16', sampleRate: rate, samples: this.whole.slice() });
  }

  /** A participant whose endpoint threw: out of the room, the others unharmed. */
  private lost(participant: Participant, error: unknown): void {
    this.log.warn({ participant: participant.info.id, err: describeError(error) }, 'room: a participant failed; removing it');
    this.remove(participant.info.id, 'lost');
  }

  /** Tells every participant but `except`. */
  private notify(notice: RoomNotice, except?: string): void {
    for (const participant of [...this.participants.values()]) {
      if (participant.info.id !== except) this.tellOne(participant, notice);
    }
  }

  private tellOne(participant: Participant, notice: RoomNotice): void {
    try {
      participant.endpoint.tell(notice);
    } catch (error) {
      this.log.warn({ participant: participant.info.id, event: notice.event, err: describeError(error) }, 'room: an event listener threw');
    }
  }
}
