import type { AudioFormat, AudioFrame, PcmFrame } from '../audio/frame.js';
import type { PlaybackSink } from './playback.js';
import type { TransportKind } from './types.js';

/** One participant of a room as every participant sees it (plain JSON: it may live on another instance). */
export interface ParticipantInfo {
  /** Its session's id. */
  id: string;
  transport: TransportKind;
  /** What the others see: the join's `label`, else the caller's number, else the transport. */
  label: string;
  /** When it joined (ms since the epoch). */
  joinedAt: number;
  /** Whether it is speaking now (a level detector on its voice). */
  speaking: boolean;
}

/** Why a participant left: it asked, its session ended, it moved to another room, the room closed, its instance went silent, or its client sent no audio for `rooms.idleMs`. */
export type LeaveReason = 'left' | 'ended' | 'moved' | 'closed' | 'lost' | 'idle';

/**
 * Why a room closed for this participant: `stream.rooms.close()`, the server shutting down, (cluster)
 * the instance mixing it went silent, or this participant was let go because its client sent no audio
 * for `rooms.idleMs`.
 */
export type RoomCloseReason = 'closed' | 'shutdown' | 'host_lost' | 'idle';

/** What a participant's handler hears of its room. */
export interface RoomEvents {
  /** Another participant joined. */
  join: [participant: ParticipantInfo];
  /** Another participant left. */
  leave: [participant: ParticipantInfo, reason: LeaveReason];
  /** A participant (this one included) started or stopped speaking. */
  speaking: [participant: ParticipantInfo, speaking: boolean];
  /** The room's whole mix, every voice and every `room.send()`, one 20 ms frame per tick (PCM at the room's rate). */
  mix: [frame: PcmFrame];
  /** The room closed, or let this participant go (`idle`): it is out, its audio goes straight to its transport again. */
  close: [reason: RoomCloseReason];
}

/** Options of `ctx.join()`. */
export interface JoinOptions {
  /** Create the room when it does not exist (default true); with false an unknown room rejects with ROOM_NOT_FOUND. */
  create?: boolean;
  /** What the others see of this participant (default: the caller's number, else the transport). 1-64 characters. */
  label?: string;
  /** When this join creates the room: how many may be in it (default the Stream's `rooms.maxParticipants`, 10). */
  maxParticipants?: number;
  /** When this join creates the room: the rate it mixes at (8000, 16000, 24000 or 48000; default the Stream's `rooms.sampleRate`, 16000). */
  sampleRate?: number;
  /**
   * The room's PIN (1-64 visible characters). A room with a PIN (the Stream's `rooms.pin`, else the
   * one its creating join brought) admits only joins with the same PIN: ROOM_PIN_REQUIRED without
   * one, BAD_PIN with another, and BAD_PIN for a PIN brought to a room that has none. A session has
   * `rooms.pinAttempts` wrong PINs (default 3), then it is hung up.
   */
  pin?: string;
}

/**
 * A session's place in a room, as its handler holds it. The participant hears the mix of the others
 * (never itself) in its own transport's format, plus what its handler sends with `ctx.send()`
 * (heard by it alone); `send()` here speaks to the whole room.
 */
export interface RoomHandle {
  readonly name: string;
  /** This participant. */
  readonly self: ParticipantInfo;
  /** The room's mixing format (16-bit PCM at its rate): what `mix` events carry. */
  readonly format: AudioFormat;
  /** Everyone in the room now, this participant included. */
  readonly participants: readonly ParticipantInfo[];
  /** True once this participant left or the room closed. */
  readonly closed: boolean;
  /** Audio for the whole room, this participant included (any format, paced one frame per tick); ignored once closed. */
  send(frame: AudioFrame): void;
  /** Audio given to `send()` not yet mixed (ms). */
  readonly queuedMs: number;
  /** Leaves the room (the same as `ctx.leave()`). */
  leave(): Promise<void>;
  on<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this;
  off<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this;
  once<E extends keyof RoomEvents>(event: E, listener: (...args: RoomEvents[E]) => void): this;
}

/** What a session asks of the Stream's rooms (`ctx.join()`, `ctx.leave()`). */
export interface RoomAccess<S> {
  join(session: S, name: string, options?: JoinOptions): Promise<RoomHandle>;
  leave(session: S): Promise<void>;
}

/** What a room needs to mix into a session's outbound audio. */
export interface SessionOutlet {
  /** The transport's side of playback: where the room sends this session's mixed audio. */
  readonly transport: PlaybackSink;
  /** The format playback sends in (the transport's output format). */
  readonly format: AudioFormat;
  /** The format the transport delivers (`inbound` events). */
  readonly inboundFormat: AudioFormat;
  /** Audio already at the far end, not yet played (ms). */
  readonly aheadMs: number;
  /** False when the Stream's mode never sends to the client (`send`). */
  readonly sends: boolean;
  /** False when the Stream's mode never listens to the client (`receive`). */
  readonly receives: boolean;
}
