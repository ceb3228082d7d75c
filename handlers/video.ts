import { endianness } from 'node:os';
import type { VideoFrame } from '../src/video/frame.js';

const INVERT_LUMA = Uint8Array.from({ length: 256 }, (_, y) => Math.min(255, Math.max(0, 251 - y)));
const INVERT_CHROMA = Uint8Array.from({ length: 256 }, (_, c) => Math.min(255, 256 - c));

/** The same tables for two bytes at once (little-endian pairs): half the loop iterations. */
function pairTable(table: Uint8Array): Uint16Array {
  const pairs = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) pairs[i] = table[i & 255]! | (table[i >> 8]! << 8);
  return pairs;
}
const PAIRS = endianness() === 'LE' ? { luma: pairTable(INVERT_LUMA), chroma: pairTable(INVERT_CHROMA) } : undefined;

/** Maps `data[from, to)` into `out` through `table` (bytes) or `pairs` (aligned byte pairs). */
function mapBytes(data: Uint8Array, out: Uint8Array, from: number, to: number, table: Uint8Array, pairs: Uint16Array | undefined): void {
  let i = from;
  if (pairs && (data.byteOffset + from) % 2 === 0 && from % 2 === 0) {
    const count = (to - from) >> 1;
    const source = new Uint16Array(data.buffer, data.byteOffset + from, count);
    const target = new Uint16Array(out.buffer, out.byteOffset + from, count);
    for (let k = 0; k < count; k++) target[k] = pairs[source[k]!]!;
    i = from + count * 2;
  }
  for (; i < to; i++) out[i] = table[data[i]!]!;
}

/** The negative image (RGB inverted, done in YUV: Y → 251 - Y, U → 256 - U, V → 256 - V, BT.601 limited range). */
export function invert(frame: VideoFrame): VideoFrame {
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  const luma = width * height;
  mapBytes(data, out, 0, luma, INVERT_LUMA, PAIRS?.luma);
  mapBytes(data, out, luma, data.length, INVERT_CHROMA, PAIRS?.chroma);
  return { width, height, format: 'i420', data: out, timestamp: frame.timestamp };
}

/** The image upside down (each plane's rows reversed). */
export function flip(frame: VideoFrame): VideoFrame {
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  const chromaWidth = Math.ceil(width / 2);
  const chromaHeight = Math.ceil(height / 2);
  const planes: [number, number, number][] = [
    [0, width, height],
    [width * height, chromaWidth, chromaHeight],
    [width * height + chromaWidth * chromaHeight, chromaWidth, chromaHeight],
  ];
  for (const [offset, rowBytes, rows] of planes) {
    for (let row = 0; row < rows; row++) {
      out.set(data.subarray(offset + row * rowBytes, offset + (row + 1) * rowBytes), offset + (rows - 1 - row) * rowBytes);
    }
  }
  return { width, height, format: 'i420', data: out, timestamp: frame.timestamp };
}
