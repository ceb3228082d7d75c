import { Decoder, Encoder } from '@evan/opus';

/** Sample rates Opus encodes and decodes natively. */
export type OpusRate = 8000 | 12000 | 16000 | 24000 | 48000;

/**
 * Mono Opus through @evan/opus (prebuilt N-API libopus with a wasm fallback): 20 ms frames of 16-bit
 * PCM in, packets out, and back. Loss is concealed with Opus's own PLC: a packet whose frame is
 * empty (the TOC byte alone) makes libopus extrapolate from its state (RFC 6716 §3.2.1).
 */
export class OpusCodec {
  private readonly encoder: Encoder;
  private readonly decoder: Decoder;
  private lastToc = 0x78; // CELT fullband 20 ms, mono, one frame: until a real packet says otherwise

  constructor(readonly sampleRate: OpusRate = 48000) {
    this.encoder = new Encoder({ channels: 1, sample_rate: sampleRate, application: 'voip' });
    this.encoder.inband_fec = true;
    this.encoder.packet_loss = 5;
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
  return new Int16Array(bytes.slice().buffer);
}
