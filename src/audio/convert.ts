import { type AudioFormat, type AudioFrame, sameFormat } from './frame.js';
import { mulawDecode, mulawEncode } from './mulaw.js';
import { pooledCopy } from './pool.js';
import { Resampler } from './resample.js';

/** Converts a stream of frames from one format to another; stateful (the resampler keeps history). */
export interface FrameConverter {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  /** Converts one frame. The result is a fresh frame the caller may keep. */
  convert(frame: AudioFrame): AudioFrame;
}

const identity = (format: AudioFormat): FrameConverter => ({ from: format, to: format, convert: (frame) => frame });

/**
 * Builds the cheapest path between two formats: μ-law decode, resample, μ-law encode, each only
 * when needed. Same format in and out costs nothing. With `reuse`, the frames it returns live in
 * buffers of its own, overwritten by the next call (no allocation per frame): for a consumer that
 * copies what it keeps, as the outbound queue does.
 */
export function createConverter(from: AudioFormat, to: AudioFormat, options: { reuse?: boolean } = {}): FrameConverter {
  if (sameFormat(from, to)) return identity(from);
  const resampler = from.sampleRate === to.sampleRate ? undefined : new Resampler(from.sampleRate, to.sampleRate);
  const scratch = options.reuse ? new Scratch() : undefined;
  return {
    from,
    to,
    convert(frame) {
      let pcm = frame.encoding === 'pcm16' ? frame.samples : mulawDecode(frame.bytes, scratch?.pcm(frame.bytes.length));
      if (resampler) {
        pcm = resampler.process(pcm);
        if (!scratch) pcm = pooledCopy(pcm);
      }
      if (to.encoding === 'mulaw') return { encoding: 'mulaw', sampleRate: to.sampleRate, bytes: mulawEncode(pcm, scratch?.bytes(pcm.length)) };
      return { encoding: 'pcm16', sampleRate: to.sampleRate, samples: pcm };
    },
  };
}

/** Reusable buffers, grown when a longer frame comes and viewed at each frame's length. */
class Scratch {
  private pcmBuffer = new Int16Array(0);
  private byteBuffer = new Uint8Array(0);

  pcm(length: number): Int16Array {
    if (this.pcmBuffer.length < length) this.pcmBuffer = new Int16Array(length);
    return this.pcmBuffer.subarray(0, length);
  }

  bytes(length: number): Uint8Array {
    if (this.byteBuffer.length < length) this.byteBuffer = new Uint8Array(length);
    return this.byteBuffer.subarray(0, length);
  }
}

/**
 * Converts frames of whatever format arrives to one target format, keeping one converter per source
 * format (a handler may emit 24 kHz PCM now and μ-law later). With `reuse`, converted frames live in
 * the converters' own buffers until the next call (see createConverter).
 */
export class ToFormat {
  private readonly converters = new Map<string, FrameConverter>();
  private last: FrameConverter | undefined;

  constructor(
    readonly to: AudioFormat,
    private readonly options: { reuse?: boolean } = {},
  ) {}

  convert(frame: AudioFrame): AudioFrame {
    const last = this.last;
    if (last && last.from.encoding === frame.encoding && last.from.sampleRate === frame.sampleRate) return last.convert(frame);
    const key = `${frame.encoding}/${frame.sampleRate}`;
    let converter = this.converters.get(key);
    if (!converter) {
      converter = createConverter({ encoding: frame.encoding, sampleRate: frame.sampleRate }, this.to, this.options);
      this.converters.set(key, converter);
    }
    this.last = converter;
    return converter.convert(frame);
  }
}
