import { Decoder, Encoder } from '@evan/opus';

/** Sample rates Opus encodes and decodes natively. */
export type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000;

/** The encoder settings callstream codes speech with (`bitrate` unset: libopus chooses). */
export interface OpusSettings {
  application: 'voip' | 'audio' | 'restricted_lowdelay';
  /** 0 (cheapest) to 10. */
  complexity: number;
  /** In-band FEC: each packet also carries a coarse copy of the one before, which the peer's decoder uses when that one was lost. */
  inbandFec: boolean;
  /** The loss (%) the encoder plans for: with FEC, how much it spends on the copies. */
  packetLoss: number;
  dtx: boolean;
  bitrate?: number;
}

/**
 * The speech default, chosen by `npm run bench -- opus` (encoder CPU against quality on a speech
 * fixture; docs/benchmarks.md): complexity 6 costs about a fifth less encoder CPU than libopus's
 * default 9 with the decoded speech within 10 % of its distance from the original (5 lower is past
 * that). FEC stays: at 5 % loss it is what keeps a browser's playback close to the clean figure
 * (concealment alone is a third further off), for about a fifth of the encoder's CPU. DTX off: it
 * saves bandwidth in pauses, not CPU.
 */
export const OPUS_SPEECH_SETTINGS: Readonly<OpusSettings> = { application: 'voip', complexity: 6, inbandFec: true, packetLoss: 5, dtx: false };

/**
 * Mono Opus through @evan/opus (prebuilt N-API libopus with a wasm fallback): 20 ms frames of 16-bit
 * PCM in, packets out, and back. Loss is concealed with Opus's own PLC: a packet whose frame is
 * empty (the TOC byte alone) makes libopus extrapolate from its state (RFC 6716 §3.2.1).
 */
export class OpusCodec {
  private readonly encoder: Encoder;
  private readonly decoder: Decoder;
  private lastToc = 0x78; // CELT fullband 20 ms, mono, one frame: until a real packet says otherwise

  constructor(readonly sampleRate: OpusRate = 48000, settings: Readonly<OpusSettings> = OPUS_SPEECH_SETTINGS) {
    this.encoder = new Encoder({ channels: 1, sample_rate: sampleRate, application: settings.application });
    this.encoder.complexity = settings.complexity as Encoder['complexity'];
    this.encoder.inband_fec = settings.inbandFec;
    this.encoder.packet_loss = settings.packetLoss;
    this.encoder.dtx = settings.dtx;
    if (settings.bitrate !== undefined) this.encoder.bitrate = settings.bitrate;
    this.decoder = new Decoder({ channels: 1, sample_rate: sampleRate });
  }

  /** Encodes one frame (2.5 to 60 ms of samples at the codec's rate). */
  encode(samples: Int16Array): Uint8Array {
    return this.encoder.encode(samples);
  }

  /** Decodes a packet to PCM at the codec's rate (stereo packets are mixed down by libopus). */
  decode(packet: Uint8Array): Int16Array {
    if (packet.length > 0) this.lastToc = packet[0]!;
    return toInt16(this.decoder.decode(packet));
  }

  /** Synthesises the next frame of a lost packet (Opus packet-loss concealment). */
  conceal(): Int16Array {
    return toInt16(this.decoder.decode(Uint8Array.of(this.lastToc & 0xfc)));
  }
}

function toInt16(bytes: Uint8Array): Int16Array {
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return new Int16Array(Uint8Array.prototype.slice.call(bytes).buffer);
}
