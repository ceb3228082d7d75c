/**
 * Fixed-duration framing (20 ms by default) and 16-bit little-endian PCM byte conversion.
 */

import { endianness } from 'node:os';
import { pooledBytes, pooledCopy, pooledSamples } from './pool.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Samples in one frame of `frameMs` milliseconds at `sampleRate` (160 for 20 ms at 8 kHz).
 * Throws a RangeError unless that is a whole, positive number of samples.
 */
export function samplesPerFrame(sampleRate: number, frameMs = 20): number {
  const samples = (sampleRate * frameMs) / 1000;
  if (!Number.isInteger(samples) || samples <= 0) {
    throw new RangeError(`${frameMs} ms at ${sampleRate} Hz is not a whole number of samples (${samples})`);
  }
  return samples;
}

/** The element kind of a chunker: 'int16' for PCM samples, 'uint8' for μ-law bytes. */
export type ChunkKind<T extends Int16Array | Uint8Array> = T extends Uint8Array ? 'uint8' : 'int16';

/**
 * Cuts a stream of arbitrarily sized sample arrays into frames of exactly `frameSize` samples.
 * Every frame returned is a fresh copy the caller may keep.
 */
export class FrameChunker<T extends Int16Array | Uint8Array> {
  private readonly buffer: T;
  private held = 0;

  constructor(
    readonly frameSize: number,
    readonly kind: ChunkKind<T>,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) {
      throw new RangeError(`FrameChunker: frameSize must be a positive integer, got ${frameSize}`);
    }
    this.buffer = (kind === 'uint8' ? new Uint8Array(frameSize) : new Int16Array(frameSize)) as T;
  }

  /** Adds samples; returns the frames they complete (possibly none), oldest first. */
  push(chunk: T): T[] {
    const frames: T[] = [];
    const size = this.frameSize;
    let at = 0;
    if (this.held > 0) {
      at = Math.min(size - this.held, chunk.length);
      this.buffer.set(chunk.subarray(0, at), this.held);
      this.held += at;
      if (this.held < size) return frames;
      frames.push(this.buffer.slice() as T);
      this.held = 0;
    }
    // A copy whatever the array's class (Buffer's slice would be a view): queued audio is ours.
    for (; at + size <= chunk.length; at += size) frames.push(copyOf(chunk, at, at + size));
    if (at < chunk.length) {
      this.buffer.set(chunk.subarray(at), 0);
      this.held = chunk.length - at;
    }
    return frames;
  }

  /** As `push`, appending the completed frames to `out` (no array of its own: the hot path). */
  pushInto(chunk: T, out: T[]): void {
    const size = this.frameSize;
    if (this.held === 0 && chunk.length === size) {
      out.push(copyOf(chunk, 0, size));
      return;
    }
    for (const frame of this.push(chunk)) out.push(frame);
  }

  /** Number of samples held back, waiting for a full frame. */
  pending(): number {
    return this.held;
  }

  /**
   * Returns the held samples padded to a full frame with `padWith` (0 for 'int16', 0xff, μ-law
   * silence, for 'uint8'), or undefined when nothing is held. Empties the chunker.
   */
  flush(padWith: number = this.kind === 'uint8' ? 0xff : 0): T | undefined {
    if (this.held === 0) return undefined;
    const frame = pooledCopy(this.buffer);
    frame.fill(padWith, this.held);
    this.held = 0;
    return frame;
  }

  /** Drops the held samples. */
  clear(): void {
    this.held = 0;
  }
}

function copyOf<T extends Int16Array | Uint8Array>(chunk: T, start: number, end: number): T {
  return pooledCopy(chunk, start, end);
}

/** Encodes samples as 16-bit little-endian bytes, in a new Buffer. */
export function pcmToBytesLE(samples: Int16Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.copyBytesFrom(samples);
  const bytes = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i], i * 2);
  return bytes;
}

/**
 * Decodes 16-bit little-endian bytes (an even number of them) to samples. When the bytes are
 * 2-byte aligned the result is a view sharing their memory; otherwise (odd byteOffset) they are
 * copied first.
 */
export function bytesLEToPcm(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) {
    throw new RangeError(`bytesLEToPcm: odd number of bytes (${bytes.length}) for 16-bit samples`);
  }
  const count = bytes.length / 2;
  if (!LITTLE_ENDIAN_HOST) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const samples = new Int16Array(count);
    for (let i = 0; i < count; i++) samples[i] = view.getInt16(i * 2, true);
    return samples;
  }
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, count);
  const samples = new Int16Array(count);
  new Uint8Array(samples.buffer).set(bytes);
  return samples;
}

/** Joins sample arrays of one kind into a fresh one (or returns the only part as is). */
export function concatSamples<T extends Int16Array | Uint8Array>(parts: readonly T[]): T {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = (parts[0] instanceof Int16Array ? pooledSamples(total) : pooledBytes(total)) as T;
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
