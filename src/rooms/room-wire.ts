import type { BusMessage } from '../coordination/coordination.js';
import type { ParticipantInfo } from '../session/room-access.js';
import type { RoomNotice } from './participant.js';

/*
 * What crosses instances for a room mixed on one instance with participants on others. Questions
 * (hello, join, leave, listen, close) go to the room's holder through the session directory's bus
 * (key `room:<name>`); media goes through each instance's room topic (`room-media:<instanceId>`):
 *   relay → host   room.voice    one message per 20 ms frame of each remote participant's voice
 *                  room.announce what its handler sends to the whole room (any length)
 *                  room.mute     a key was pressed
 *                  room.alive    every second, the participants it still holds
 *   host → relay   room.mix      one message per tick per instance: each of its participants' mix
 *                  room.notice   a room event for one participant
 * PCM travels as base64 of 16-bit little-endian samples at the room's rate.
 */

/** The topic on which an instance hears about the rooms it mixes or relays. */
export const mediaTopic = (instanceId: string): string => `room-media:${instanceId}`;

/** The directory key of a room (claimed by the instance that mixes it). */
export const roomKey = (name: string): string => `room:${name}`;

/** What `room.hello` answers: enough to convert audio before joining. */
export interface RoomHello {
  sampleRate: number;
  maxParticipants: number;
  instanceId: string;
  createdAt: number;
  /** True when joining needs a PIN. */
  pin?: boolean;
}

export type HostMessage =
  | { type: 'room.voice'; room: string; id: string; pcm: string }
  | { type: 'room.announce'; room: string; id: string; pcm: string }
  | { type: 'room.mute'; room: string; id: string; ms: number }
  | { type: 'room.alive'; room: string; from: string; ids: string[] };

export type RelayMessage =
  | { type: 'room.mix'; room: string; mixes: Record<string, string>; whole?: string }
  | { type: 'room.notice'; room: string; id: string; notice: RoomNotice };

export interface JoinRequest {
  type: 'room.join';
  participant: ParticipantInfo;
  from: string;
  /** The digest of the PIN the joiner presents (room-pin.ts), never the PIN. */
  pin?: string;
}

export function encodePcm(samples: Int16Array): string {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
}

/** Samples from base64 (a fresh, aligned array); an odd trailing byte is dropped. */
export function decodePcm(text: string): Int16Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
  return out;
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** Reads a message that arrived on a room topic (from another instance: checked, never trusted blindly). */
export function readRoomMessage(message: BusMessage): HostMessage | RelayMessage | undefined {
  const m = message as Record<string, unknown>;
  if (!isString(m.room)) return undefined;
  switch (m.type) {
    case 'room.voice':
    case 'room.announce':
      return isString(m.id) && isString(m.pcm) ? (m as HostMessage) : undefined;
    case 'room.mute':
      return isString(m.id) && typeof m.ms === 'number' ? (m as HostMessage) : undefined;
    case 'room.alive':
      return isString(m.from) && Array.isArray(m.ids) && m.ids.every(isString) ? (m as HostMessage) : undefined;
    case 'room.mix':
      return typeof m.mixes === 'object' && m.mixes !== null && (m.whole === undefined || isString(m.whole)) ? (m as RelayMessage) : undefined;
    case 'room.notice':
      return isString(m.id) && typeof m.notice === 'object' && m.notice !== null ? (m as RelayMessage) : undefined;
    default:
      return undefined;
  }
}

const TRANSPORTS = new Set(['telephone', 'webrtc', 'websocket']);

/** A participant described by another instance, checked. */
export function remoteParticipant(value: unknown): ParticipantInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (typeof p.id !== 'string' || p.id.length === 0 || p.id.length > 128) return undefined;
  if (typeof p.transport !== 'string' || !TRANSPORTS.has(p.transport)) return undefined;
  if (typeof p.label !== 'string' || p.label.length > 64) return undefined;
  return { id: p.id, transport: p.transport as ParticipantInfo['transport'], label: p.label, joinedAt: typeof p.joinedAt === 'number' ? p.joinedAt : Date.now(), speaking: false };
}
