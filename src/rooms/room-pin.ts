import { createHash, timingSafeEqual } from 'node:crypto';
import { CallstreamError } from '../errors.js';

/** A PIN: 1-64 visible ASCII characters (digits, for one a phone keys in). */
const PIN = /^[\x21-\x7e]{1,64}$/;

/** A join's PIN was wrong (`BAD_PIN`): how many wrong PINs the session has left (at 0 it is being hung up). */
export class WrongPinError extends CallstreamError {
  readonly triesLeft: number;

  constructor(message: string, triesLeft: number) {
    super('BAD_PIN', `${message} ${triesLeft > 0 ? `${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left.` : 'No tries left: the session ends.'}`);
    this.name = 'WrongPinError';
    this.triesLeft = triesLeft;
  }
}

/** A PIN given to `join()` or the `rooms.pin` option, checked; BAD_REQUEST (never quoting it) otherwise. */
export function checkPin(pin: unknown, where: string): string {
  if (typeof pin !== 'string' || !PIN.test(pin)) throw new CallstreamError('BAD_REQUEST', `${where}: a PIN is 1-64 visible ASCII characters, e.g. digits.`);
  return pin;
}

/**
 * What a room keeps of its PIN, and what a joiner presents: SHA-256 over the room's name and the
 * PIN (base64url). The PIN itself stays on the instance it was given to; only this crosses to the
 * instance that mixes the room, and it is never logged nor told to participants.
 */
export function pinDigest(room: string, pin: string): string {
  return createHash('sha256').update(`callstream room pin\0${room}\0${pin}`).digest('base64url');
}

/**
 * Lets a joiner in or refuses it: a room with a PIN needs the same PIN (ROOM_PIN_REQUIRED without
 * one, BAD_PIN with another; compared in constant time), and a room without one refuses a joiner
 * that brings a PIN (BAD_PIN), so a PIN never lands in an open room someone else made.
 */
export function admitPin(room: string, kept: string | undefined, presented: string | undefined): void {
  if (kept === undefined && presented === undefined) return;
  if (kept !== undefined && presented === undefined) {
    throw new CallstreamError('ROOM_PIN_REQUIRED', `Room "${room}" needs a PIN.`, { hint: 'Join with its PIN: join(name, { pin }).' });
  }
  if (kept === undefined || !sameDigest(kept, presented!)) throw new CallstreamError('BAD_PIN', `Wrong PIN for room "${room}".`);
}

function sameDigest(kept: string, presented: string): boolean {
  const a = Buffer.from(kept, 'base64url');
  const b = Buffer.from(presented, 'base64url');
  return a.length === b.length && timingSafeEqual(a, b);
}
