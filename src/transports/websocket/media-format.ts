import type { AudioFormat } from '../../audio/frame.js';

/** The wire names of the formats the WebSocket speaks (Twilio-style `mediaFormat`). */
export type WireEncoding = 'audio/x-mulaw' | 'audio/x-pcm16le';

export interface WireMediaFormat {
  encoding: WireEncoding;
  sampleRate: number;
  channels: 1;
}

const RATES = new Set([8000, 12000, 16000, 22050, 24000, 32000, 44100, 48000]);

export function toWire(format: AudioFormat): WireMediaFormat {
  return { encoding: format.encoding === 'mulaw' ? 'audio/x-mulaw' : 'audio/x-pcm16le', sampleRate: format.sampleRate, channels: 1 };
}

/**
 * Reads a client's `mediaFormat`. Returns the format, or a sentence saying what is wrong with it.
 * `audio/L16` is refused on purpose: RFC 3551 defines it big-endian; this socket speaks little-endian.
 */
export function parseMediaFormat(value: unknown): AudioFormat | string {
  if (typeof value !== 'object' || value === null) return 'mediaFormat must be an object {encoding, sampleRate, channels: 1}.';
  const { encoding, sampleRate, channels } = value as Record<string, unknown>;
  if (encoding !== 'audio/x-mulaw' && encoding !== 'audio/x-pcm16le') {
    return `mediaFormat.encoding must be "audio/x-mulaw" or "audio/x-pcm16le" (16-bit little-endian; not audio/L16, which is big-endian); got ${JSON.stringify(encoding)}.`;
  }
  if (typeof sampleRate !== 'number' || !RATES.has(sampleRate)) {
    return `mediaFormat.sampleRate must be one of ${[...RATES].join(', ')}; got ${JSON.stringify(sampleRate)}.`;
  }
  if (channels !== undefined && channels !== 1) return `mediaFormat.channels must be 1 (mono); got ${JSON.stringify(channels)}.`;
  return { encoding: encoding === 'audio/x-mulaw' ? 'mulaw' : 'pcm16', sampleRate };
}
