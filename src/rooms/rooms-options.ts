import { checkPin } from './room-pin.js';

/** Limits and defaults of a Stream's rooms (the `rooms` option). */
export interface RoomsOptions {
  /** Participants per room unless its creator says otherwise. Default 10. */
  maxParticipants?: number;
  /** Rooms this instance mixes or takes part in at once. Default 100. */
  maxRooms?: number;
  /** The rate rooms mix at unless their creator says otherwise: 8000, 16000, 24000 or 48000. Default 16000. */
  sampleRate?: number;
  /**
   * The PIN rooms require, set by the server: one for every room, or a function of the room's name
   * (undefined: that room has none, unless its creating join brings one). A join must present it
   * (`join(name, { pin })`), the one that creates the room included. Default: none.
   */
  pin?: string | ((room: string) => string | undefined);
  /** Wrong PINs a session may present; at the last one it is hung up. Default 3. */
  pinAttempts?: number;
  /**
   * Wrong PINs per client address (browsers and programs; phone calls are held by the per-session
   * limit), counted deployment-wide: `limit` per `windowMs`, then joins with a PIN are refused
   * RATE_LIMITED. Default 10 per 10 minutes; false: none.
   */
  pinFailures?: { limit: number; windowMs: number } | false;
  /**
   * A participant whose client has sent no audio at all (silence is audio) for this long leaves its
   * room (`leave` with `idle`; its handle is told `close` with `idle`), so idle joiners cannot hold a
   * room's places or this instance's rooms (ms; 0: never). Sessions whose transport never listens
   * (mode `receive`) are exempt. Default 30000.
   */
  idleMs?: number;
}

export interface RoomsSettings {
  maxParticipants: number;
  maxRooms: number;
  sampleRate: number;
  pin: (room: string) => string | undefined;
  pinAttempts: number;
  pinFailures: { limit: number; windowMs: number } | false;
  idleMs: number;
}

const RATES = new Set([8000, 16000, 24000, 48000]);

/** Checks what a room's creator may choose (participants, rate); a TypeError naming the option otherwise. */
export function checkRoomShape(options: Pick<RoomsOptions, 'maxParticipants' | 'sampleRate'>): void {
  if (!(Number.isInteger(options.maxParticipants) && options.maxParticipants! >= 2)) throw new TypeError(`rooms.maxParticipants must be an integer of at least 2; got ${String(options.maxParticipants)}.`);
  if (!RATES.has(options.sampleRate!)) throw new TypeError(`rooms.sampleRate must be 8000, 16000, 24000 or 48000; got ${String(options.sampleRate)}.`);
}

export function checkRoomsOptions(options: RoomsOptions = {}): RoomsSettings {
  const out = { maxParticipants: options.maxParticipants ?? 10, maxRooms: options.maxRooms ?? 100, sampleRate: options.sampleRate ?? 16000 };
  checkRoomShape(out);
  if (!(Number.isInteger(out.maxRooms) && out.maxRooms >= 1)) throw new TypeError(`rooms.maxRooms must be a positive integer; got ${String(options.maxRooms)}.`);
  const pinAttempts = options.pinAttempts ?? 3;
  if (!(Number.isInteger(pinAttempts) && pinAttempts >= 1)) throw new TypeError(`rooms.pinAttempts must be a positive integer; got ${String(options.pinAttempts)}.`);
  const idleMs = options.idleMs ?? 30_000;
  if (!(Number.isFinite(idleMs) && idleMs >= 0)) throw new TypeError(`rooms.idleMs must be a number of milliseconds (0: never); got ${String(options.idleMs)}.`);
  const pinFailures = options.pinFailures ?? { limit: 10, windowMs: 600_000 };
  if (pinFailures !== false && !(Number.isInteger(pinFailures.limit) && pinFailures.limit > 0 && pinFailures.windowMs > 0)) {
    throw new TypeError(`rooms.pinFailures needs a positive integer limit and a positive windowMs, or false; got ${JSON.stringify(pinFailures)}.`);
  }
  return { ...out, pin: configuredPin(options.pin), pinAttempts, pinFailures, idleMs };
}

/** The `rooms.pin` option as a function of the room's name (a fixed PIN is checked at once). */
function configuredPin(pin: RoomsOptions['pin']): (room: string) => string | undefined {
  if (typeof pin === 'function') return (room) => {
    const chosen = pin(room);
    return chosen === undefined ? undefined : checkPin(chosen, `rooms.pin("${room}")`);
  };
  if (pin === undefined) return () => undefined;
  try {
    const fixed = checkPin(pin, 'rooms.pin');
    return () => fixed;
  } catch (error) {
    throw new TypeError((error as Error).message);
  }
}
