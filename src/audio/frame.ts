/**
 * Audio frames as they travel between transports, sessions and handlers.
 *
 * A frame is self-describing: its encoding and sample rate travel with its samples, so a handler may
 * emit audio at any rate and the session converts it for the transport.
 */

/** 16-bit signed linear PCM, mono, at `sampleRate`. */
export interface PcmFrame {
  readonly encoding: 'pcm16';
  readonly sampleRate: number;
  readonly samples: Int16Array;
}

/** G.711 μ-law bytes, mono, at `sampleRate` (8000 on a phone call). */
export interface MulawFrame {
  readonly encoding: 'mulaw';
  readonly sampleRate: number;
  readonly bytes: Uint8Array;
}

export type AudioFrame = PcmFrame | MulawFrame;
export type AudioEncoding = AudioFrame['encoding'];

/** The shape of audio without the samples: what a handler asks for, or what a transport carries. */
export interface AudioFormat {
  readonly encoding: AudioEncoding;
  readonly sampleRate: number;
}

export function pcmFrame(samples: Int16Array, sampleRate: number): PcmFrame {
  return { encoding: 'pcm16', sampleRate, samples };
}

export function mulawFrame(bytes: Uint8Array, sampleRate = 8000): MulawFrame {
  return { encoding: 'mulaw', sampleRate, bytes };
}

/** Number of samples in a frame (one byte per sample for μ-law). */
export function sampleCount(frame: AudioFrame): number {
  return frame.encoding === 'pcm16' ? frame.samples.length : frame.bytes.length;
}

/** Duration of a frame in milliseconds. */
export function frameDurationMs(frame: AudioFrame): number {
  return (sampleCount(frame) * 1000) / frame.sampleRate;
}

export function formatOf(frame: AudioFrame): AudioFormat {
  return { encoding: frame.encoding, sampleRate: frame.sampleRate };
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}

export function describeFormat(format: AudioFormat): string {
  return `${format.encoding}@${format.sampleRate}`;
}
