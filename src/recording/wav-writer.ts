import { open, type FileHandle } from 'node:fs/promises';

/** Bytes of a canonical PCM WAV header. */
export const WAV_HEADER_BYTES = 44;
const HEADER_BYTES = WAV_HEADER_BYTES;

/** A canonical 16-bit PCM WAV header for `dataBytes` of samples. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** One channel's samples not yet written, from absolute sample `base`. */
class ChannelBuffer {
  samples = new Int16Array(0);
  length = 0;

  /** Adds samples at absolute position `at` (mixing over what is there); before `base` is too late. */
  put(base: number, at: number, data: Int16Array): void {
    let from = 0;
    if (at < base) {
      from = base - at;
      if (from >= data.length) return;
      at = base;
    }
    const offset = at - base;
    const end = offset + data.length - from;
    if (end > this.samples.length) {
      const grown = new Int16Array(Math.max(end, this.samples.length * 2, 4096));
      grown.set(this.samples.subarray(0, this.length));
      this.samples = grown;
    }
    for (let i = from; i < data.length; i++) {
      const k = offset + i - from;
      this.samples[k] = Math.max(-32768, Math.min(32767, this.samples[k]! + data[i]!));
    }
    this.length = Math.max(this.length, end);
  }

  /** Removes the first `count` samples (they were written). */
  drop(count: number): void {
    this.samples.copyWithin(0, count, this.length);
    this.samples.fill(0, Math.max(0, this.length - count), this.length);
    this.length = Math.max(0, this.length - count);
  }
}

/**
 * A stereo 16-bit WAV file written as a stream: samples are placed by absolute position on a shared
 * timeline (so the two channels stay aligned whatever order they arrive in), written out in order,
 * and the header's sizes are fixed when it closes.
 */
export class StereoWavWriter {
  private file: Promise<FileHandle>;
  private readonly channels = [new ChannelBuffer(), new ChannelBuffer()];
  private base = 0;
  private dataBytes = 0;
  private chain: Promise<void>;
  private closed = false;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
  ) {
    this.file = open(path, 'w');
    this.chain = this.file.then((fd) => fd.write(wavHeader(sampleRate, 2, 0), 0, HEADER_BYTES, 0)).then(() => undefined);
  }

  /** Samples written so far (per channel). */
  get writtenSamples(): number {
    return this.base;
  }

  write(channel: 0 | 1, position: number, samples: Int16Array): void {
    if (this.closed) return;
    this.channels[channel]!.put(this.base, position, samples);
  }

  /** Writes everything before `upTo` (absolute samples); by default all that is buffered. */
  flush(upTo?: number): Promise<void> {
    const end = upTo ?? Math.max(this.channels[0]!.length, this.channels[1]!.length) + this.base;
    const count = Math.max(0, Math.floor(end) - this.base);
    if (count === 0) return this.chain;
    const interleaved = new Int16Array(count * 2);
    const [left, right] = this.channels as [ChannelBuffer, ChannelBuffer];
    for (let i = 0; i < count; i++) {
      interleaved[2 * i] = i < left.length ? left.samples[i]! : 0;
      interleaved[2 * i + 1] = i < right.length ? right.samples[i]! : 0;
    }
    left.drop(count);
    right.drop(count);
    this.base += count;
    const bytes = Buffer.from(interleaved.buffer);
    const position = HEADER_BYTES + this.dataBytes;
    this.dataBytes += bytes.length;
    this.chain = this.chain.then(async () => {
      await (await this.file).write(bytes, 0, bytes.length, position);
    });
    return this.chain;
  }

  /** Writes what is left, fixes the header, closes the file. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    const done = this.flush();
    this.closed = true;
    this.chain = done.then(async () => {
      const fd = await this.file;
      await fd.write(wavHeader(this.sampleRate, 2, this.dataBytes), 0, HEADER_BYTES, 0);
      await fd.close();
    });
    return this.chain;
  }
}
