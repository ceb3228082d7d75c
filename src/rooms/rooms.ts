import type { Clock } from '../clock.js';
import type { Coordination } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JoinOptions, LeaveReason, ParticipantInfo, RoomAccess, RoomCloseReason, RoomHandle } from '../session/room-access.js';
import type { Session } from '../session/session.js';
import { Membership, type RoomConnection } from './membership.js';
import { Room, type RoomInfo } from './room.js';

/** Limits and defaults of a Stream's rooms (the `rooms` option). */
export interface RoomsOptions {
  /** Participants per room unless its creator says otherwise. Default 10. */
  maxParticipants?: number;
  /** Rooms this instance mixes or takes part in at once. Default 100. */
  maxRooms?: number;
  /** The rate rooms mix at unless their creator says otherwise: 8000, 16000, 24000 or 48000. Default 16000. */
  sampleRate?: number;
}

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
const RATES = new Set([8000, 16000, 24000, 48000]);
const KEY_PREFIX = 'room:';

export function checkRoomsOptions(options: RoomsOptions = {}): Required<RoomsOptions> {
  const out = { maxParticipants: options.maxParticipants ?? 10, maxRooms: options.maxRooms ?? 100, sampleRate: options.sampleRate ?? 16000 };
  if (!(Number.isInteger(out.maxParticipants) && out.maxParticipants >= 2)) throw new TypeError(`rooms.maxParticipants must be an integer of at least 2; got ${String(options.maxParticipants)}.`);
  if (!(Number.isInteger(out.maxRooms) && out.maxRooms >= 1)) throw new TypeError(`rooms.maxRooms must be a positive integer; got ${String(options.maxRooms)}.`);
  if (!RATES.has(out.sampleRate)) throw new TypeError(`rooms.sampleRate must be 8000, 16000, 24000 or 48000; got ${String(options.sampleRate)}.`);
  return out;
}

/**
 * The rooms of one Stream on this instance: sessions join them (`ctx.join()`), server code lists and
 * closes them (`stream.rooms`). A room is mixed by the instance that created it (it claims the
 * room's name deployment-wide); in a cluster, participants on other instances reach it through a
 * relay (see relay.ts). A room lives while it has participants.
 */
export class Rooms implements RoomAccess<Session>, StreamRooms {
  private readonly hosted = new Map<string, Room>();
  private readonly opening = new Map<string, Promise<Room>>();
  private readonly memberships = new Map<string, Membership>();
  private readonly tracked = new WeakSet<Session>();
  private readonly settings: Required<RoomsOptions>;
  private readonly log: Logger;

  constructor(
    private readonly runtime: RoomsRuntime,
    options: RoomsOptions = {},
  ) {
    this.settings = checkRoomsOptions(options);
    this.log = runtime.logger.child({ component: 'rooms' });
    runtime.directory.handlePrefix(KEY_PREFIX, (key, message) => this.answer(key.slice(KEY_PREFIX.length), message.type));
  }

  /** Called with every room this instance starts mixing (recordings hook in here). */
  onRoom: ((room: Room) => void) | undefined;

  list(): RoomInfo[] {
    return [...this.hosted.values()].map((room) => room.info());
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
  }

  async join(session: Session, name: string, options: JoinOptions = {}): Promise<RoomHandle> {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new CallstreamError('BAD_REQUEST', `A room name is 1-100 letters, digits or . : @ + _ -; got ${JSON.stringify(String(name)).slice(0, 60)}.`);
    }
    const label = this.labelFor(session, options.label);
    if (session.isClosed) throw new CallstreamError('SESSION_CLOSED', 'The session has ended: it cannot join a room.');
    const current = this.memberships.get(session.id);
    if (current && current.connection.name === name && !current.closed) return current.handle;
    if (current) await this.leave(session, 'moved');
    const room = await this.open(name, options);
    const info: ParticipantInfo = { id: session.id, transport: session.transport, label, joinedAt: Date.now(), speaking: false };
    const membership = new Membership(session, room, info, this.runtime.clock, () => this.leave(session), (m) => this.forget(m));
    try {
      if (session.isClosed) throw new CallstreamError('SESSION_CLOSED', 'The session ended while it was joining a room.');
      if (this.memberships.has(session.id)) throw new CallstreamError('BAD_REQUEST', 'The session joined another room meanwhile; join one room at a time.');
      await room.add(info, membership);
    } catch (error) {
      // A room made for this join and left empty does not linger.
      if (room instanceof Room && room.size === 0) room.close('closed');
      throw error;
    }
    this.memberships.set(session.id, membership);
    membership.attach();
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
    membership.detach();
    membership.connection.remove(session.id, reason);
  }

  /** The room `name`: mixed here already, created here, or (with `create: false`) ROOM_NOT_FOUND. */
  private async open(name: string, options: JoinOptions): Promise<RoomConnection> {
    const hosted = this.hosted.get(name);
    if (hosted && !hosted.closed) return hosted;
    const pending = this.opening.get(name);
    if (pending) return pending;
    if (options.create === false) throw new CallstreamError('ROOM_NOT_FOUND', `There is no room "${name}".`, { hint: 'Join with create: true (the default) to create it.' });
    if (this.hosted.size >= this.settings.maxRooms) {
      throw new CallstreamError('ROOM_LIMIT', `This instance already has ${this.settings.maxRooms} rooms (rooms.maxRooms).`);
    }
    const opening = this.create(name, options).finally(() => this.opening.delete(name));
    this.opening.set(name, opening);
    return opening;
  }

  private async create(name: string, options: JoinOptions): Promise<Room> {
    const maxParticipants = options.maxParticipants ?? this.settings.maxParticipants;
    const sampleRate = options.sampleRate ?? this.settings.sampleRate;
    try {
      checkRoomsOptions({ maxParticipants, sampleRate });
    } catch (error) {
      throw new CallstreamError('BAD_REQUEST', (error as Error).message.replace('rooms.', 'join options: '));
    }
    const claimed = await this.runtime.directory.claim(KEY_PREFIX + name);
    if (!claimed) throw new CallstreamError('UNSUPPORTED', `Room "${name}" is mixed by another instance.`);
    const room = new Room({ name, sampleRate, maxParticipants, clock: this.runtime.clock, logger: this.log, instanceId: this.runtime.coordination.instanceId });
    this.hosted.set(name, room);
    room.once('close', () => {
      if (this.hosted.get(name) === room) this.hosted.delete(name);
      this.runtime.directory.unclaim(KEY_PREFIX + name);
    });
    this.log.info({ room: name, sampleRate, maxParticipants }, 'room: created');
    this.onRoom?.(room);
    return room;
  }

  /** A membership the room let go (it closed). */
  private forget(membership: Membership): void {
    if (this.memberships.get(membership.info.id) === membership) this.memberships.delete(membership.info.id);
  }

  /** Messages about a room this instance mixes, from other instances. */
  private answer(name: string, type: string): unknown {
    const room = this.hosted.get(name);
    if (!room) throw new CallstreamError('ROOM_NOT_FOUND', `There is no room "${name.slice(0, 100)}".`);
    if (type === 'room.close') {
      room.close('closed');
      return true;
    }
    if (type === 'room.info') return room.info();
    throw new CallstreamError('BAD_REQUEST', `Unknown room message "${type.slice(0, 40)}".`);
  }

  private labelFor(session: Session, label: string | undefined): string {
    if (label === undefined) return session.facts.from ?? session.transport;
    if (typeof label !== 'string' || label.trim().length === 0 || label.length > 64) {
      throw new CallstreamError('BAD_REQUEST', 'A participant label is 1-64 characters.');
    }
    return label.trim();
  }
}
