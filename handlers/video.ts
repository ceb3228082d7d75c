import type { VideoFrame } from '../src/video/frame.js';

const INVERT_LUMA = Uint8Array.from({ length: 256 }, (_, y) => Math.min(255, Math.max(0, 251 - y)));
const INVERT_CHROMA = Uint8Array.from({ length: 256 }, (_, c) => Math.min(255, 256 - c));

/** The negative image (RGB inverted, done in YUV: Y → 251 - Y, U → 256 - U, V → 256 - V, BT.601 limited range). */
export function invert(frame: VideoFrame): VideoFrame {
  const { width, height, data } = frame;
  const out = new Uint8Array(data.length);
  const luma = width * height;
  for (let i = 0; i < luma; i++) out[i] = INVERT_LUMA[data[i]!]!;
  for (let i = luma; i < data.length; i++) out[i] = INVERT_CHROMA[data[i]!]!;
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
