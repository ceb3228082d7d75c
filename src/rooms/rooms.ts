import type { Clock } from '../clock.js';
import type { BusMessage, Coordination } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { CallstreamError, isCallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JoinOptions, LeaveReason, ParticipantInfo, RoomAccess, RoomCloseReason, RoomHandle } from '../session/room-access.js';
import type { Session } from '../session/session.js';
import { IdleParticipants } from './idle-participants.js';
import { Membership, type RoomConnection } from './membership.js';
import { PinAttempts } from './pin-attempts.js';
import { Room, type RoomInfo } from './room.js';
import { RoomHost } from './room-host.js';
import { admitPin, checkPin, pinDigest, WrongPinError } from './room-pin.js';
import { RoomRelay } from './room-relay.js';
import { answerRoomQuestion } from './room-questions.js';
import { mediaTopic, readRoomMessage, roomKey } from './room-wire.js';
import { checkRoomShape, checkRoomsOptions, type RoomsOptions, type RoomsSettings } from './rooms-options.js';

export type { RoomsOptions };

/** What the rooms use of their Stream. */
export interface RoomsRuntime {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly coordination: Coordination;
  readonly directory: SessionDirectory;
}

/** A server-side view of the rooms: what `stream.rooms` offers. */
export interface StreamRooms {
  /** The rooms this instance mixes or has participants in. */
  list(): RoomInfo[];
  /** A room this instance mixes (its participants, events, whole mix), or undefined. */
  get(name: string): Room | undefined;
  /** Closes a room wherever it is mixed (every participant is let go, told `close`); false when there is none. */
  close(name: string): Promise<boolean>;
}

const NAME = /^[\w.:@+-]{1,100}$/;
const KEY_PREFIX = roomKey('');

/**
 * The rooms of one Stream on this instance: sessions join them (`ctx.join()`), server code lists and
 * closes them (`stream.rooms`). A room is mixed by the instance that created it (it claims the
 * room's name deployment-wide); in a cluster, participants on other instances reach it through a
 * relay (see relay.ts). A room lives while it has participants.
 */
export class Rooms implements RoomAccess<Session>, StreamRooms {
  private readonly hosted = new Map<string, Room>();
  /** Hosted rooms with participants on other instances: what serves them. */
  private readonly hosts = new Map<string, RoomHost>();
  /** Rooms mixed on other instances that participants of this one are in. */
  private readonly relays = new Map<string, RoomRelay>();
  private readonly opening = new Map<string, Promise<RoomConnection>>();
  private unsubscribe: (() => void) | undefined;
  private readonly memberships = new Map<string, Membership>();
  private readonly tracked = new WeakSet<Session>();
  private readonly settings: RoomsSettings;
  private readonly log: Logger;
  private readonly pinAttempts: PinAttempts;
  private readonly idle: IdleParticipants;

  constructor(
    private readonly runtime: RoomsRuntime,
    options: RoomsOptions = {},
    /** The key a client address is counted under for wrong PINs (an IPv6 address's /64, say). */
    addressKey: (address: string) => string = (address) => address,
  ) {
    this.settings = checkRoomsOptions(options);
    this.log = runtime.logger.child({ component: 'rooms' });
    const { pinAttempts, pinFailures } = this.settings;
    this.pinAttempts = new PinAttempts(pinAttempts, pinFailures ? runtime.coordination.rateBucket('room-pin-failures', pinFailures) : undefined, addressKey, this.log);
    this.idle = new IdleParticipants(this.settings.idleMs, runtime.clock, (membership) => this.letGoIdle(membership));
    runtime.directory.handlePrefix(KEY_PREFIX, (key, message) => this.answer(key.slice(KEY_PREFIX.length), message));
  }

  /** Called with every room this instance starts mixing (recordings hook in here). */
  onRoom: ((room: Room) => void) | undefined;

  list(): RoomInfo[] {
    const relayed = [...this.relays.values()].map((relay) => ({
      name: relay.name,
      sampleRate: relay.format.sampleRate,
      maxParticipants: relay.maxParticipants,
      participants: relay.list(),
      createdAt: relay.createdAt,
      instanceId: relay.hostInstanceId,
      ...(relay.pin ? { pin: true as const } : {}),
    }));
    return [...[...this.hosted.values()].map((room) => room.info()), ...relayed];
  }

  get(name: string): Room | undefined {
    return this.hosted.get(name);
  }

  async close(name: string): Promise<boolean> {
    const room = this.hosted.get(name);
    if (room) {
      room.close('closed');
      return true;
    }
    if (!NAME.test(name)) return false;
    const delivery = await this.runtime.coordination.ask(KEY_PREFIX + name, { type: 'room.close' });
    return delivery.kind === 'replied' && delivery.value === true;
  }

  /** Closes every room this instance mixes (the Stream is shutting down). */
  closeAll(reason: RoomCloseReason): void {
    for (const room of [...this.hosted.values()]) room.close(reason);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  async join(session: Session, name: string, options: JoinOptions = {}): Promise<RoomHandle> {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new CallstreamError('BAD_REQUEST', `A room name is 1-100 letters, digits or . : @ + _ -; got ${JSON.stringify(String(name)).slice(0, 60)}.`);
    }
    const label = this.labelFor(session, options.label);
    const presented = options.pin === undefined ? undefined : pinDigest(name, checkPin(options.pin, 'join options'));
    if (session.isClosed) throw new CallstreamError('SESSION_CLOSED', 'The session has ended: it cannot join a room.');
    const current = this.memberships.get(session.id);
    if (current && current.connection.name === name && !current.closed) return current.handle;
    try {
      if (presented !== undefined) await this.pinAttempts.allow(session);
      // A PIN the server sets is checked before any room is made, claimed or left for it.
      const configured = this.settings.pin(name);
      if (configured !== undefined) admitPin(name, pinDigest(name, configured), presented);
      return await this.enter(session, name, options, label, presented);
    } catch (error) {
      if (isCallstreamError(error, 'BAD_PIN') && !(error instanceof WrongPinError) && presented !== undefined) {
        throw new WrongPinError(error.message, await this.pinAttempts.failed(session));
      }
      throw error;
    }
  }

  /** Joins the room `name` (its PIN, when it has one, checked where it is mixed). */
  private async enter(session: Session, name: string, options: JoinOptions, label: string, pin: string | undefined): Promise<RoomHandle> {
    if (this.memberships.has(session.id)) await this.leave(session, 'moved');
    const room = await this.open(name, options, pin);
    const info: ParticipantInfo = { id: session.id, transport: session.transport, label, joinedAt: Date.now(), speaking: false };
    const membership = new Membership(session, room, info, this.runtime.clock, () => this.leave(session), (m) => this.forget(m));
    try {
      if (session.isClosed) throw new CallstreamError('SESSION_CLOSED', 'The session ended while it was joining a room.');
      if (this.memberships.has(session.id)) throw new CallstreamError('BAD_REQUEST', 'The session joined another room meanwhile; join one room at a time.');
      await room.add(info, membership, pin);
    } catch (error) {
      // A room made for this join and left empty does not linger.
      if (room instanceof Room && room.size === 0) room.close('closed');
      throw error;
    }
    this.memberships.set(session.id, membership);
    membership.attach();
    this.idle.watch(membership);
    if (!this.tracked.has(session)) {
      this.tracked.add(session);
      session.onEnd(() => void this.leave(session, 'ended'));
    }
    return membership.handle;
  }

  async leave(session: Session, reason: LeaveReason = 'left'): Promise<void> {
    const membership = this.memberships.get(session.id);
    if (!membership) return;
    this.memberships.delete(session.id);
    this.idle.unwatch(membership);
    membership.detach();
    membership.connection.remove(session.id, reason);
  }

  /** A participant whose client sent no audio for `idleMs`: out of its room, the others told `idle`, its handler `close` with `idle`. */
  private letGoIdle(membership: Membership): void {
    const id = membership.info.id;
    if (this.memberships.get(id) !== membership) return;
    this.log.info({ room: membership.connection.name, participant: id, idleMs: this.settings.idleMs }, 'room: a participant sent no audio; letting it go');
    this.memberships.delete(id);
    membership.connection.remove(id, 'idle');
    membership.close('idle');
  }

  /**
   * The room `name`: mixed here already, relayed here already, created here (its name claimed
   * deployment-wide), or mixed by the instance that holds its name (a relay). Rejects ROOM_NOT_FOUND
   * when it exists nowhere and `create` is false, ROOM_LIMIT at `maxRooms`.
   */
  private async open(name: string, options: JoinOptions, pin: string | undefined): Promise<RoomConnection> {
    const here = this.hosted.get(name) ?? this.relays.get(name);
    if (here) return here;
    const pending = this.opening.get(name);
    if (pending) return pending;
    if (this.hosted.size + this.relays.size >= this.settings.maxRooms) {
      throw new CallstreamError('ROOM_LIMIT', `This instance already has ${this.settings.maxRooms} rooms (rooms.maxRooms).`);
    }
    const opening = this.reach(name, options, pin).finally(() => this.opening.delete(name));
    this.opening.set(name, opening);
    return opening;
  }

  private async reach(name: string, options: JoinOptions, pin: string | undefined): Promise<RoomConnection> {
    // Two tries: a room may close elsewhere between a refused claim and the question to its holder.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (options.create !== false) {
        const room = await this.create(name, options, pin);
        if (room) return room;
      }
      const relay = await RoomRelay.open(name, this.runtime.coordination, this.runtime.clock, this.log, (done) => {
        if (this.relays.get(name) === done) this.relays.delete(name);
      });
      if (relay) {
        this.listenToRooms();
        this.relays.set(name, relay);
        return relay;
      }
      if (options.create === false) break;
    }
    throw new CallstreamError('ROOM_NOT_FOUND', `There is no room "${name}".`, { hint: 'Join with create: true (the default) to create it.' });
  }

  /**
   * Creates the room here, unless another instance holds its name (undefined). Its PIN is the one the
   * server sets for it, else the one its creating join brought (`pin`, a digest), else none.
   */
  private async create(name: string, options: JoinOptions, pin: string | undefined): Promise<Room | undefined> {
    const maxParticipants = options.maxParticipants ?? this.settings.maxParticipants;
    const sampleRate = options.sampleRate ?? this.settings.sampleRate;
    try {
      checkRoomShape({ maxParticipants, sampleRate });
    } catch (error) {
      throw new CallstreamError('BAD_REQUEST', (error as Error).message.replace('rooms.', 'join options: '));
    }
    const claimed = await this.runtime.directory.claim(roomKey(name));
    if (!claimed) return undefined;
    const configured = this.settings.pin(name);
    const kept = configured === undefined ? pin : pinDigest(name, configured);
    const room = new Room({ name, sampleRate, maxParticipants, clock: this.runtime.clock, logger: this.log, instanceId: this.runtime.coordination.instanceId, pin: kept });
    this.hosted.set(name, room);
    room.once('close', () => {
      if (this.hosted.get(name) === room) this.hosted.delete(name);
      this.hosts.delete(name);
      this.runtime.directory.unclaim(roomKey(name));
    });
    this.log.info({ room: name, sampleRate, maxParticipants, pin: kept !== undefined }, 'room: created');
    this.onRoom?.(room);
    return room;
  }

  /** A membership the room let go (it closed). */
  private forget(membership: Membership): void {
    this.idle.unwatch(membership);
    if (this.memberships.get(membership.info.id) === membership) this.memberships.delete(membership.info.id);
  }

  /** Questions about a room this instance mixes, from the instances relaying it. */
  private answer(name: string, message: BusMessage): unknown {
    const room = this.hosted.get(name);
    if (!room) throw new CallstreamError('ROOM_NOT_FOUND', `There is no room "${name.slice(0, 100)}".`);
    return answerRoomQuestion(room, message, this.runtime.coordination.instanceId, () => this.hostOf(room));
  }

  /** What serves a hosted room's participants on other instances (made with the first of them). */
  private hostOf(room: Room): RoomHost {
    let host = this.hosts.get(room.name);
    if (!host) {
      this.listenToRooms();
      host = new RoomHost(room, (topic, message) => this.runtime.coordination.publish(topic, message), this.runtime.clock);
      this.hosts.set(room.name, host);
    }
    return host;
  }

  /** This instance's room topic: media of the rooms it mixes for others, and of those it relays. */
  private listenToRooms(): void {
    this.unsubscribe ??= this.runtime.coordination.subscribe(mediaTopic(this.runtime.coordination.instanceId), (message) => {
      const read = readRoomMessage(message);
      if (!read) return;
      if (read.type === 'room.mix' || read.type === 'room.notice') this.relays.get(read.room)?.receive(read);
      else this.hosts.get(read.room)?.receive(read);
    });
  }

  private labelFor(session: Session, label: string | undefined): string {
    if (label === undefined) return session.facts.from ?? session.transport;
    if (typeof label !== 'string' || label.trim().length === 0 || label.length > 64) {
      throw new CallstreamError('BAD_REQUEST', 'A participant label is 1-64 characters.');
    }
    return label.trim();
  }
}
