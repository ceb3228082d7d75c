/**
 * G.711 A-law codec (ITU-T G.711), bit-identical to the classic Sun/CCITT `linear2alaw` /
 * `alaw2linear`: the sample is taken to 13 bits (`>> 3`, flooring), coded as sign, a 3-bit segment
 * and a 4-bit mantissa, and the even bits are inverted (XOR 0x55) as the standard prescribes.
 *
 * Unlike μ-law every byte decodes to a distinct value (there is no negative zero), so decoding then
 * encoding gives back every byte. Both directions are single table look-ups, as in `mulaw.ts`.
 */

/** The A-law byte for digital silence (0 in linear PCM encodes to 0xd5, which decodes to +8). */
export const ALAW_SILENCE = 0xd5;

/** Decodes one A-law byte to a 16-bit linear sample (reference version; the codec uses tables). */
export function alawDecodeSample(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  const segment = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = (mantissa << 4) + 8;
  if (segment > 0) magnitude = (magnitude + 0x100) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** Encodes one 16-bit linear sample (clamped to int16) to A-law (reference version). */
export function alawEncodeSample(sample: number): number {
  let s = sample | 0;
  if (s > 32767) s = 32767;
  else if (s < -32768) s = -32768;
  const thirteen = s >> 3; // floors: -1 becomes -1, coded as the smallest negative step
  const positive = thirteen >= 0;
  const magnitude = positive ? thirteen : -thirteen - 1; // 0..4095
  let segment = 0;
  let mantissa: number;
  if (magnitude < 32) mantissa = magnitude >> 1;
  else {
    segment = 31 - Math.clz32(magnitude) - 4; // 1..7: the highest set bit, from bit 5 up
    mantissa = (magnitude >> segment) & 0x0f;
  }
  return ((segment << 4) | mantissa) ^ (positive ? 0xd5 : 0x55);
}

const DECODE_TABLE = new Int16Array(256);
for (let b = 0; b < 256; b++) DECODE_TABLE[b] = alawDecodeSample(b);

/** Indexed by `sample & 0xffff` (the int16 bit pattern). */
const ENCODE_TABLE = new Uint8Array(65536);
for (let i = 0; i < 65536; i++) ENCODE_TABLE[i] = alawEncodeSample((i << 16) >> 16);

/** Decodes A-law bytes to 16-bit PCM (a new array). */
export function alawDecode(bytes: Uint8Array): Int16Array {
  const n = bytes.length;
  const out = new Int16Array(n);
  const table = DECODE_TABLE;
  for (let i = 0; i < n; i++) out[i] = table[bytes[i]];
  return out;
}

/** Encodes 16-bit PCM to A-law bytes (a new array). */
export function alawEncode(samples: Int16Array): Uint8Array {
  const n = samples.length;
  const out = new Uint8Array(n);
  const table = ENCODE_TABLE;
  for (let i = 0; i < n; i++) out[i] = table[samples[i] & 0xffff];
  return out;
}
