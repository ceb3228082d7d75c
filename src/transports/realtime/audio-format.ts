import { alawDecode, alawEncode } from '../../audio/alaw.js';
import { createConverter, type FrameConverter } from '../../audio/convert.js';
import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import { bytesLEToPcm, pcmToBytesLE } from '../../audio/framing.js';

/** The audio formats of OpenAI's Realtime protocol: 16-bit PCM at 24 kHz, G.711 μ-law, G.711 A-law. */
export type WireFormat = 'pcm' | 'pcmu' | 'pcma';

const GA_TYPES: Record<string, WireFormat> = { 'audio/pcm': 'pcm', 'audio/pcmu': 'pcmu', 'audio/pcma': 'pcma' };
const BETA_NAMES: Record<string, WireFormat> = { pcm16: 'pcm', g711_ulaw: 'pcmu', g711_alaw: 'pcma' };

/**
 * Reads a format as a client gives it: the GA object (`{type: 'audio/pcm', rate: 24000}`,
 * `{type: 'audio/pcmu'}`, `{type: 'audio/pcma'}`) or the beta name (`pcm16`, `g711_ulaw`,
 * `g711_alaw`). Returns a sentence saying what is wrong otherwise.
 */
export function parseWireFormat(value: unknown): WireFormat | string {
  if (typeof value === 'string') {
    return BETA_NAMES[value] ?? `Unsupported audio format ${JSON.stringify(value).slice(0, 40)}: use pcm16, g711_ulaw or g711_alaw.`;
  }
  if (typeof value !== 'object' || value === null) return 'An audio format must be an object {type, rate} (or a beta name such as "pcm16").';
  const { type, rate } = value as { type?: unknown; rate?: unknown };
  const format = typeof type === 'string' ? GA_TYPES[type] : undefined;
  if (!format) return `Unsupported audio format type ${JSON.stringify(type)?.slice(0, 40)}: use audio/pcm, audio/pcmu or audio/pcma.`;
  if (format === 'pcm' && rate !== undefined && rate !== 24000) return `audio/pcm is 24 kHz only; got rate ${JSON.stringify(rate)?.slice(0, 20)}.`;
  return format;
}

/** A format as the GA protocol writes it. */
export function gaFormat(format: WireFormat): Record<string, unknown> {
  return format === 'pcm' ? { type: 'audio/pcm', rate: 24000 } : { type: `audio/${format}` };
}

/** A format as the beta protocol names it. */
export function betaFormat(format: WireFormat): string {
  return format === 'pcm' ? 'pcm16' : format === 'pcmu' ? 'g711_ulaw' : 'g711_alaw';
}

/** What a format is once decoded at the socket: μ-law stays μ-law (sessions carry it); A-law becomes PCM. */
export function decodedFormat(format: WireFormat): AudioFormat {
  if (format === 'pcmu') return { encoding: 'mulaw', sampleRate: 8000 };
  return { encoding: 'pcm16', sampleRate: format === 'pcm' ? 24000 : 8000 };
}

/** Bytes per millisecond of a format. */
export function bytesPerMs(format: WireFormat): number {
  return format === 'pcm' ? 48 : 8;
}

/**
 * The audio of one connection between the wire and its session. The session's formats are fixed when
 * it opens; the client may change the wire's with `session.update` at any time, and the difference
 * is converted here (nothing is converted while they agree).
 */
export class WireAudio {
  input: WireFormat;
  output: WireFormat;
  private inbound: FrameConverter | undefined;
  private outbound: FrameConverter | undefined;

  constructor(
    /** What the session receives (its link's format). */
    readonly sessionInput: AudioFormat,
    /** What the session sends (its link's output format). */
    readonly sessionOutput: AudioFormat,
    formats: { input: WireFormat; output: WireFormat },
  ) {
    this.input = formats.input;
    this.output = formats.output;
  }

  /** Appended bytes as a frame in the session's format, or a sentence saying why they cannot be. */
  decode(bytes: Buffer): AudioFrame | string {
    let frame: AudioFrame;
    if (this.input === 'pcmu') frame = { encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    else if (this.input === 'pcma') frame = { encoding: 'pcm16', sampleRate: 8000, samples: alawDecode(bytes) };
    else if (bytes.length % 2 !== 0) return 'audio/pcm audio must have an even number of bytes (16-bit samples).';
    else frame = { encoding: 'pcm16', sampleRate: 24000, samples: bytesLEToPcm(bytes) };
    const from = decodedFormat(this.input);
    if (from.encoding === this.sessionInput.encoding && from.sampleRate === this.sessionInput.sampleRate) return frame;
    if (this.inbound?.from.encoding !== from.encoding || this.inbound.from.sampleRate !== from.sampleRate) this.inbound = createConverter(from, this.sessionInput);
    return this.inbound.convert(frame);
  }

  /** A frame the session sends (its output format) as bytes of the wire's output format. */
  encode(frame: AudioFrame): Buffer {
    const to = decodedFormat(this.output);
    let out = frame;
    if (frame.encoding !== to.encoding || frame.sampleRate !== to.sampleRate) {
      if (this.outbound?.to.encoding !== to.encoding || this.outbound.to.sampleRate !== to.sampleRate) this.outbound = createConverter(this.sessionOutput, to);
      out = this.outbound.convert(frame);
    }
    if (out.encoding === 'mulaw') return Buffer.from(out.bytes.buffer, out.bytes.byteOffset, out.bytes.byteLength);
    if (this.output === 'pcma') {
      const bytes = alawEncode(out.samples);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return pcmToBytesLE(out.samples);
  }
}
