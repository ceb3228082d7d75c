import { CallstreamError } from '../../src/index.js';

/** The conference demo's PIN: 4 to 12 digits (phone callers key it in). */
const DIGITS = /^\d{4,12}$/;

/**
 * The conference demo's PIN from `CALLSTREAM_ROOM_PIN`: undefined when unset or empty. One that is
 * not 4 to 12 digits stops the start with CONFIG_ERROR (the PIN itself is never repeated).
 */
export function conferencePin(env: Record<string, string | undefined> = process.env): string | undefined {
  const pin = env.CALLSTREAM_ROOM_PIN?.trim();
  if (!pin) return undefined;
  if (!DIGITS.test(pin)) {
    throw new CallstreamError('CONFIG_ERROR', `CALLSTREAM_ROOM_PIN must be 4 to 12 digits (phone callers key it in); the one set has ${pin.length} characters.`, {
      hint: 'set CALLSTREAM_ROOM_PIN to digits only, 6 or more for a public server.',
    });
  }
  return pin;
}
