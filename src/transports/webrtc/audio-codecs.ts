import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import { MULAW_SILENCE } from '../../audio/mulaw.js';
import { OpusCodec } from '../../audio/opus.js';

/** The browser audio codecs callstream negotiates. */
export type WebRtcAudioCodecName = 'opus' | 'pcmu';

/** One peer's audio codec: RTP payloads to session frames and back, 20 ms at a time. */
export interface RtpAudioCodec {
  readonly name: WebRtcAudioCodecName;
  /** The format sessions see (Opus decodes to 48 kHz PCM; PCMU stays μ-law 8 kHz). */
  readonly format: AudioFormat;
  /** RTP timestamp units per 20 ms packet. */
  readonly samplesPerPacket: number;
  decode(payload: Uint8Array): AudioFrame;
  /** A frame standing in for a lost packet. */
  conceal(): AudioFrame;
  /** A frame of silence (the sender sent nothing). */
  silence(): AudioFrame;
  /** Encodes exactly one 20 ms frame in `format`. */
  encode(frame: AudioFrame): Uint8Array;
}

class OpusRtpCodec implements RtpAudioCodec {
  readonly name = 'opus' as const;
  readonly format: AudioFormat = { encoding: 'pcm16', sampleRate: 48000 };
  readonly samplesPerPacket = 960;
  private readonly codec = new OpusCodec(48000);

  decode(payload: Uint8Array): AudioFrame {
    return { encoding: 'pcm16', sampleRate: 48000, samples: this.codec.decode(payload) };
  }

  conceal(): AudioFrame {
    return { encoding: 'pcm16', sampleRate: 48000, samples: this.codec.conceal() };
  }

  silence(): AudioFrame {
    return { encoding: 'pcm16', sampleRate: 48000, samples: new Int16Array(960) };
  }

  encode(frame: AudioFrame): Uint8Array {
    if (frame.encoding !== 'pcm16') throw new TypeError('Opus encodes PCM frames');
    return this.codec.encode(frame.samples);
  }
}

class PcmuRtpCodec implements RtpAudioCodec {
  readonly name = 'pcmu' as const;
  readonly format: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
  readonly samplesPerPacket = 160;

  decode(payload: Uint8Array): AudioFrame {
    return { encoding: 'mulaw', sampleRate: 8000, bytes: payload };
  }

  conceal(): AudioFrame {
    return this.silence();
  }

  silence(): AudioFrame {
    return { encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(160).fill(MULAW_SILENCE) };
  }

  encode(frame: AudioFrame): Uint8Array {
    if (frame.encoding !== 'mulaw') throw new TypeError('PCMU encodes μ-law frames');
    return frame.bytes;
  }
}

/** The codec for a negotiated RTP mime type (`audio/opus`, `audio/PCMU`). */
export function codecForMimeType(mimeType: string): RtpAudioCodec | undefined {
  switch (mimeType.toLowerCase()) {
    case 'audio/opus':
      return new OpusRtpCodec();
    case 'audio/pcmu':
      return new PcmuRtpCodec();
    default:
      return undefined;
  }
}
