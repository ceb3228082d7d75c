import type { Clock } from '../clock.js';
import type { BusMessage } from '../coordination/coordination.js';
import type { ParticipantEndpoint, RoomNotice } from './participant.js';
import type { Room } from './room.js';
import { decodePcm, encodePcm, type HostMessage, mediaTopic, type RelayMessage } from './room-wire.js';

/** A remote instance that has said nothing of a room for this long (ms) loses its participants there. */
const SILENT_INSTANCE_MS = 5000;

/**
 * The side of a mixed room that serves participants on other instances (cluster): each tick, one
 * message per instance with its participants' mixes; their voices and announcements arrive on this
 * instance's room topic. Made with the room's first remote participant.
 */
export class RoomHost {
  private readonly batches = new Map<string, { mixes: Record<string, string>; whole: string | undefined }>();
  private ticksSinceCheck = 0;

  constructor(
    private readonly room: Room,
    private readonly publish: (topic: string, message: BusMessage) => void,
    private readonly clock: Clock,
  ) {
    room.afterTick = () => this.flush();
  }

  /** The endpoint of a participant held by instance `instanceId`. */
  endpoint(id: string, instanceId: string): RemoteEndpoint {
    return new RemoteEndpoint(id, instanceId, this);
  }

  /** A message from an instance relaying this room. */
  receive(message: HostMessage): void {
    const room = this.room;
    switch (message.type) {
      case 'room.voice':
        room.voice(message.id, decodePcm(message.pcm));
        return;
      case 'room.announce':
        room.announce(message.id, { encoding: 'pcm16', sampleRate: room.format.sampleRate, samples: decodePcm(message.pcm) });
        return;
      case 'room.mute':
        room.muteFor(message.id, Math.min(Math.max(0, message.ms), 2000));
        return;
      case 'room.alive': {
        const now = this.clock.now();
        for (const id of message.ids) {
          const participant = room.get(id);
          if (participant && participant.instanceId === message.from) participant.lastHeard = now;
        }
      }
    }
  }

  /** @internal A remote participant's mix for this tick. */
  put(instanceId: string, id: string, mix: Int16Array | undefined): void {
    this.batch(instanceId).mixes[id] = mix ? encodePcm(mix) : '';
  }

  /** @internal The whole mix, for an instance whose participant listens to it. */
  putWhole(instanceId: string, frame: Int16Array): void {
    const batch = this.batch(instanceId);
    batch.whole ??= encodePcm(frame);
  }

  /** @internal A room event for a remote participant. */
  tell(instanceId: string, id: string, notice: RoomNotice): void {
    this.publish(mediaTopic(instanceId), { type: 'room.notice', room: this.room.name, id, notice } satisfies RelayMessage);
  }

  private batch(instanceId: string) {
    let batch = this.batches.get(instanceId);
    if (!batch) {
      batch = { mixes: {}, whole: undefined };
      this.batches.set(instanceId, batch);
    }
    return batch;
  }

  /** After each tick: one message per instance; now and then, participants of silent instances go. */
  private flush(): void {
    for (const [instanceId, batch] of this.batches) {
      const message: RelayMessage = { type: 'room.mix', room: this.room.name, mixes: batch.mixes };
      if (batch.whole !== undefined) message.whole = batch.whole;
      this.publish(mediaTopic(instanceId), message);
    }
    this.batches.clear();
    if (++this.ticksSinceCheck < 50) return;
    this.ticksSinceCheck = 0;
    const now = this.clock.now();
    for (const info of this.room.list()) {
      const participant = this.room.get(info.id);
      if (participant?.instanceId !== undefined && now - participant.lastHeard > SILENT_INSTANCE_MS) this.room.remove(info.id, 'lost');
    }
  }
}

/** A participant held by another instance, as the mixing room sees it. */
export class RemoteEndpoint implements ParticipantEndpoint {
  wantsMix = false;

  constructor(
    private readonly id: string,
    private readonly instanceId: string,
    private readonly host: RoomHost,
  ) {}

  deliver(mix: Int16Array | undefined): void {
    this.host.put(this.instanceId, this.id, mix);
  }

  mix(frame: Int16Array): void {
    this.host.putWhole(this.instanceId, frame);
  }

  tell(notice: RoomNotice): void {
    this.host.tell(this.instanceId, this.id, notice);
  }
}
