import { ToFormat } from '../audio/convert.js';
import type { AudioFormat, AudioFrame } from '../audio/frame.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { BusMessage, Coordination } from '../coordination/coordination.js';
import { CallstreamError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LeaveReason, ParticipantInfo } from '../session/room-access.js';
import type { RoomConnection } from './membership.js';
import type { ParticipantEndpoint } from './participant.js';
import { decodePcm, encodePcm, type HostMessage, type JoinRequest, mediaTopic, type RelayMessage, type RoomHello, roomKey } from './room-wire.js';

/** Without a mix from the mixing instance for this long (ms), its room is given up here. */
const HOST_SILENT_MS = 3000;
const ALIVE_EVERY_MS = 1000;

/**
 * A room mixed by another instance, as this instance's participants reach it (cluster): their
 * voices go to the mixing instance as they arrive (one message per frame on its room topic), and
 * their mixes come back one message per tick, delivered at once. Questions (join, leave, listen) go
 * to the room's holder through the directory's bus. When the mixing instance goes silent, the room
 * closes here (`host_lost`) and the handlers may join again.
 */
export class RoomRelay implements RoomConnection {
  readonly format: AudioFormat;
  readonly hostInstanceId: string;
  readonly maxParticipants: number;
  readonly createdAt: number;
  /** Whether joining needs a PIN (as the mixing instance said). */
  readonly pin: boolean;
  private readonly members = new Map<string, ParticipantEndpoint>();
  private known: ParticipantInfo[] = [];
  private readonly toRoom: ToFormat;
  private beat: TimerHandle | undefined;
  private lastMixAt: number;
  private closed = false;

  private constructor(
    readonly name: string,
    hello: RoomHello,
    private readonly coordination: Coordination,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Called once when the relay has no one left or its host went silent. */
    private readonly onDone: (relay: RoomRelay) => void,
  ) {
    this.format = { encoding: 'pcm16', sampleRate: hello.sampleRate };
    this.hostInstanceId = hello.instanceId;
    this.maxParticipants = hello.maxParticipants;
    this.createdAt = hello.createdAt;
    this.pin = hello.pin === true;
    this.toRoom = new ToFormat(this.format);
    this.lastMixAt = clock.now();
    this.scheduleBeat();
  }

  /** Reaches the room `name` where it is mixed; undefined when no instance holds it. */
  static async open(name: string, coordination: Coordination, clock: Clock, log: Logger, onDone: (relay: RoomRelay) => void): Promise<RoomRelay | undefined> {
    const delivery = await coordination.ask(roomKey(name), { type: 'room.hello' });
    if (delivery.kind !== 'replied') return undefined;
    const hello = delivery.value as RoomHello;
    if (typeof hello?.sampleRate !== 'number' || typeof hello.instanceId !== 'string') {
      throw new CallstreamError('COORDINATION_UNAVAILABLE', `The instance holding room "${name}" answered something else than a room.`);
    }
    return new RoomRelay(name, hello, coordination, clock, log.child({ room: name, host: hello.instanceId }), onDone);
  }

  get size(): number {
    return this.members.size;
  }

  list(): ParticipantInfo[] {
    return this.known;
  }

  async add(info: ParticipantInfo, endpoint: ParticipantEndpoint, pin?: string): Promise<void> {
    if (this.closed) throw new CallstreamError('ROOM_NOT_FOUND', `Room "${this.name}" is closed.`);
    this.members.set(info.id, endpoint);
    try {
      const request: JoinRequest = { type: 'room.join', participant: info, from: this.coordination.instanceId };
      if (pin !== undefined) request.pin = pin;
      const delivery = await this.coordination.ask(roomKey(this.name), request as unknown as BusMessage);
      if (delivery.kind !== 'replied') throw new CallstreamError('ROOM_NOT_FOUND', `Room "${this.name}" closed meanwhile.`);
      this.known = delivery.value as ParticipantInfo[];
      this.lastMixAt = this.clock.now();
    } catch (error) {
      this.members.delete(info.id);
      if (this.members.size === 0) this.dispose();
      throw error;
    }
  }

  voice(id: string, samples: Int16Array): void {
    this.send({ type: 'room.voice', room: this.name, id, pcm: encodePcm(samples) });
  }

  announce(id: string, frame: AudioFrame): void {
    const pcm = this.toRoom.convert(frame);
    if (pcm.encoding !== 'pcm16') return;
    // At most a second per message: a long announcement does not make one huge message.
    const second = this.format.sampleRate;
    for (let at = 0; at < pcm.samples.length; at += second) {
      this.send({ type: 'room.announce', room: this.name, id, pcm: encodePcm(pcm.samples.subarray(at, at + second)) });
    }
  }

  /** Not known here (the mixing instance holds the queue). */
  announcedMs(): number {
    return 0;
  }

  muteFor(id: string, ms: number): void {
    this.send({ type: 'room.mute', room: this.name, id, ms });
  }

  listen(id: string, wantsMix: boolean): void {
    this.ask({ type: 'room.listen', id, wantsMix });
  }

  remove(id: string, reason: LeaveReason): void {
    if (!this.members.delete(id)) return;
    this.ask({ type: 'room.leave', id, reason });
    if (this.members.size === 0) this.dispose();
  }

  /** A message from the mixing instance. */
  receive(message: RelayMessage): void {
    if (message.type === 'room.mix') {
      this.lastMixAt = this.clock.now();
      for (const [id, pcm] of Object.entries(message.mixes)) {
        const member = this.members.get(id);
        if (!member) continue;
        member.deliver(pcm ? decodePcm(pcm) : undefined);
        if (member.wantsMix && message.whole) member.mix?.(decodePcm(message.whole));
      }
      return;
    }
    const { notice, id } = message;
    if (notice.event === 'join') this.known = [...this.known.filter((p) => p.id !== notice.participant.id), notice.participant];
    else if (notice.event === 'leave') this.known = this.known.filter((p) => p.id !== notice.participant.id);
    else if (notice.event === 'speaking') this.known = this.known.map((p) => (p.id === notice.participant.id ? notice.participant : p));
    const member = this.members.get(id);
    if (!member) return;
    if (notice.event === 'close') this.members.delete(id);
    member.tell(notice);
    if (this.members.size === 0) this.dispose();
  }

  private scheduleBeat(): void {
    this.beat = this.clock.after(ALIVE_EVERY_MS, () => {
      this.alive();
      if (!this.closed) this.scheduleBeat();
    });
  }

  private alive(): void {
    if (this.closed) return;
    if (this.clock.now() - this.lastMixAt > HOST_SILENT_MS) {
      this.log.warn({ silentMs: Math.round(this.clock.now() - this.lastMixAt) }, 'room: the instance mixing it went silent; closing it here');
      const members = [...this.members.values()];
      this.members.clear();
      this.dispose();
      for (const member of members) member.tell({ event: 'close', reason: 'host_lost' });
      return;
    }
    this.send({ type: 'room.alive', room: this.name, from: this.coordination.instanceId, ids: [...this.members.keys()] });
  }

  private send(message: HostMessage): void {
    if (!this.closed) this.coordination.publish(mediaTopic(this.hostInstanceId), message);
  }

  private ask(message: BusMessage): void {
    this.coordination.ask(roomKey(this.name), message).catch((error: unknown) => this.log.debug({ type: message.type, err: describeError(error) }, 'room: message to the mixing instance failed'));
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.beat?.cancel();
    this.onDone(this);
  }
}
