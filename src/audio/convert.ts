import { type AudioFormat, type AudioFrame, sameFormat } from './frame.js';
import { mulawDecode, mulawEncode } from './mulaw.js';
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
 * when needed. Same format in and out costs nothing.
 */
export function createConverter(from: AudioFormat, to: AudioFormat): FrameConverter {
  if (sameFormat(from, to)) return identity(from);
  const resampler = from.sampleRate === to.sampleRate ? undefined : new Resampler(from.sampleRate, to.sampleRate);
  return {
    from,
    to,
    convert(frame) {
      let pcm = frame.encoding === 'pcm16' ? frame.samples : mulawDecode(frame.bytes);
      if (resampler) pcm = resampler.process(pcm).slice();
      if (to.encoding === 'mulaw') return { encoding: 'mulaw', sampleRate: to.sampleRate, bytes: mulawEncode(pcm) };
      return { encoding: 'pcm16', sampleRate: to.sampleRate, samples: pcm };
    },
  };
}

/**
 * Converts frames of whatever format arrives to one target format, keeping one converter per source
 * format (a handler may emit 24 kHz PCM now and μ-law later).
 */
export class ToFormat {
  private readonly converters = new Map<string, FrameConverter>();
  private last: FrameConverter | undefined;

  constructor(readonly to: AudioFormat) {}

  convert(frame: AudioFrame): AudioFrame {
    const last = this.last;
    if (last && last.from.encoding === frame.encoding && last.from.sampleRate === frame.sampleRate) return last.convert(frame);
    const key = `${frame.encoding}/${frame.sampleRate}`;
    let converter = this.converters.get(key);
    if (!converter) {
      converter = createConverter({ encoding: frame.encoding, sampleRate: frame.sampleRate }, this.to);
      this.converters.set(key, converter);
    }
    this.last = converter;
    return converter.convert(frame);
  }
}
