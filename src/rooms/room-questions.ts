import type { BusMessage } from '../coordination/coordination.js';
import { CallstreamError } from '../errors.js';
import type { LeaveReason } from '../session/room-access.js';
import type { Room } from './room.js';
import { RemoteEndpoint, type RoomHost } from './room-host.js';
import { type JoinRequest, remoteParticipant, type RoomHello } from './room-wire.js';

const LEAVE_REASONS = new Set(['left', 'ended', 'moved', 'closed', 'lost', 'idle']);

/**
 * Answers a question about a room this instance mixes, from an instance relaying it (room-wire.ts):
 * hello, join (its PIN's digest checked by the room), leave, listen, close, info. Everything in it
 * came from another instance: checked, never trusted blindly.
 */
export function answerRoomQuestion(room: Room, message: BusMessage, instanceId: string, host: () => RoomHost): unknown {
  switch (message.type) {
    case 'room.hello':
      return { sampleRate: room.format.sampleRate, maxParticipants: room.maxParticipants, instanceId, createdAt: room.createdAt, pin: room.hasPin } satisfies RoomHello;
    case 'room.join': {
      const { participant, from, pin } = message as unknown as JoinRequest;
      const info = remoteParticipant(participant);
      if (!info || typeof from !== 'string' || (pin !== undefined && typeof pin !== 'string')) throw new CallstreamError('BAD_REQUEST', 'A room.join without a participant.');
      room.add(info, host().endpoint(info.id, from), pin, from);
      return room.list();
    }
    case 'room.leave': {
      const reason = LEAVE_REASONS.has(message.reason as string) ? (message.reason as LeaveReason) : 'left';
      return typeof message.id === 'string' && room.remove(message.id, reason);
    }
    case 'room.listen': {
      const endpoint = typeof message.id === 'string' ? room.get(message.id)?.endpoint : undefined;
      if (endpoint instanceof RemoteEndpoint) endpoint.wantsMix = message.wantsMix === true;
      return true;
    }
    case 'room.close':
      room.close('closed');
      return true;
    case 'room.info':
      return room.info();
    default:
      throw new CallstreamError('BAD_REQUEST', `Unknown room message "${String(message.type).slice(0, 40)}".`);
  }
}
