import { EventEmitter } from 'node:events';
import { createConverter, type FrameConverter } from '../audio/convert.js';
import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import type { Clock } from '../clock.js';
import type { LeaveReason, ParticipantInfo, RoomCloseReason, RoomEvents, RoomHandle } from '../session/room-access.js';
import type { Session } from '../session/session.js';
import { MixedOutput } from './mixed-output.js';
import type { ParticipantEndpoint, RoomNotice } from './participant.js';

/** @internal How a participant of this instance reaches its room: mixed here (a Room) or on another instance (a relay). */
export interface RoomConnection {
  readonly name: string;
  /** The room's mixing format. */
  readonly format: AudioFormat;
  /**
   * Adds a participant of this instance, presenting `pin` (its digest) where the room is mixed (may be
   * asynchronous: the room may be mixed elsewhere). Rejects ROOM_PIN_REQUIRED, BAD_PIN, ROOM_FULL.
   */
  add(info: ParticipantInfo, endpoint: ParticipantEndpoint, pin?: string): unknown;
  /** Everyone in the room, as last known here. */
  list(): ParticipantInfo[];
  /** The participant's voice, PCM at the room's rate. */
  voice(id: string, samples: Int16Array): void;
  /** What its handler sends to the whole room. */
  announce(id: string, frame: AudioFrame): void;
  /** Of that, what is not mixed yet (ms). */
  announcedMs(id: string): number;
  /** A key was pressed: its voice stays out of the mix for `ms`. */
  muteFor(id: string, ms: number): void;
  /** Whether it wants the whole mix changed. */
  listen(id: string, wantsMix: boolean): void;
  /** It leaves. */
  remove(id: string, reason: LeaveReason): void;
}

/** How long a participant's voice stays out of the mix after a key event (ms): Twilio reports a key after its tone began. */
const DTMF_MUTE_MS = 200;

/**
 * A session of this instance in a room: its voice goes to the room, the room's mix for it and its
 * handler's audio go out together through a MixedOutput, and the room's events reach its handler
 * through its handle. Made by `Rooms.join()`, undone by `detach()`.
 */
export class Membership implements ParticipantEndpoint {
  readonly handle: ParticipantHandle;
  private readonly output: MixedOutput;
  private readonly toRoom: FrameConverter;
  private readonly receives: boolean;
  private attached = false;
  wantsMix = false;

  constructor(
    readonly session: Session,
    readonly connection: RoomConnection,
    readonly info: ParticipantInfo,
    clock: Clock,
    leave: () => Promise<void>,
    /** Called once when the room lets this participant go (it closed). */
    private readonly onClosed: (membership: Membership) => void,
  ) {
    const outlet = session.outlet;
    this.receives = outlet.receives;
    this.output = new MixedOutput(outlet.transport, outlet.format, connection.format.sampleRate, clock, outlet.aheadMs);
    this.toRoom = createConverter(outlet.inboundFormat, connection.format);
    this.handle = new ParticipantHandle(this, leave);
  }

  get closed(): boolean {
    return !this.attached;
  }

  /** Starts: the session's voice to the room, its outbound audio through the room. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.session.on('inbound', this.onInbound);
    this.session.on('dtmf', this.onDtmf);
    this.session.routeOutbound(this.output);
  }

  /** Stops: the session's audio goes straight to its transport again (what the handler queued included). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.session.off('inbound', this.onInbound);
    this.session.off('dtmf', this.onDtmf);
    if (this.session.isClosed) this.output.close();
    else {
      this.output.detach();
      this.session.routeOutbound();
    }
  }

  // ParticipantEndpoint: what the room gives this participant.

  deliver(mix: Int16Array | undefined): void {
    if (this.attached) this.output.deliver(mix);
  }

  mix(frame: Int16Array): void {
    if (this.attached) this.handle.emit('mix', { encoding: 'pcm16', sampleRate: this.connection.format.sampleRate, samples: frame.slice() });
  }

  tell(notice: RoomNotice): void {
    switch (notice.event) {
      case 'join':
        this.handle.emit('join', notice.participant);
        return;
      case 'leave':
        this.handle.emit('leave', notice.participant, notice.reason);
        return;
      case 'speaking':
        if (notice.participant.id === this.info.id) this.info.speaking = notice.speaking;
        this.handle.emit('speaking', notice.participant, notice.speaking);
        return;
      case 'close':
        this.close(notice.reason);
    }
  }

  /** The room closed: out of it, and the handler told. */
  close(reason: RoomCloseReason): void {
    if (!this.attached) return;
    this.detach();
    this.onClosed(this);
    this.handle.emit('close', reason);
  }

  /** The mix listeners of the handle changed. */
  listenersChanged(): void {
    const wants = this.handle.listenerCount('mix') > 0;
    if (wants === this.wantsMix) return;
    this.wantsMix = wants;
    this.connection.listen(this.info.id, wants);
  }

  private readonly onInbound = (frame: AudioFrame): void => {
    if (!this.receives) return;
    const pcm = this.toRoom.convert(frame);
    if (pcm.encoding === 'pcm16') this.connection.voice(this.info.id, pcm.samples);
  };

  private readonly onDtmf = (): void => {
    this.connection.muteFor(this.info.id, DTMF_MUTE_MS);
  };
}

/**
 * The handle a participant's handler holds (`ctx.join()` resolves with it). It wraps an EventEmitter
 * rather than extending one: its `on`/`off`/`once` are RoomHandle's, whatever @types/node version
 * a consumer type-checks against (newer ones give `EventEmitter<T>` signatures RoomHandle's do not match).
 */
export class ParticipantHandle implements RoomHandle {
  private readonly events = new EventEmitter();

  constructor(
    private readonly membership: Membership,
    private readonly leaveRoom: () => Promise<void>,
  ) {
    const changed = (event: string | symbol) => {
      if (event === 'mix') queueMicrotask(() => membership.listenersChanged());
    };
    this.events.on('newListener', changed);
    this.events.on('removeListener', changed);
  }

  on<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this {
    this.events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** @internal Tells the handler's listeners. */
  emit<E extends keyof RoomEvents>(event: E, ...args: RoomEvents[E]): void {
    this.events.emit(event, ...args);
  }

  /** @internal How many listeners `event` has. */
  listenerCount(event: keyof RoomEvents): number {
    return this.events.listenerCount(event);
  }

  get name(): string {
    return this.membership.connection.name;
  }

  get self(): ParticipantInfo {
    return this.membership.info;
  }

  get format(): AudioFormat {
    return this.membership.connection.format;
  }

  get participants(): readonly ParticipantInfo[] {
    return this.membership.closed ? [] : this.membership.connection.list();
  }

  get closed(): boolean {
    return this.membership.closed;
  }

  get queuedMs(): number {
    return this.membership.closed ? 0 : this.membership.connection.announcedMs(this.membership.info.id);
  }

  send(frame: AudioFrame): void {
    if (this.membership.closed) return;
    this.membership.connection.announce(this.membership.info.id, frame);
  }

  leave(): Promise<void> {
    return this.membership.closed ? Promise.resolve() : this.leaveRoom();
  }
}
