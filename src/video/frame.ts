/** A decoded video frame: planar YUV 4:2:0 (what decoders produce), Y then U then V, no padding. */
export interface VideoFrame {
  readonly width: number;
  readonly height: number;
  readonly format: 'i420';
  readonly data: Uint8Array;
  /** Capture time (ms, the sender's clock). */
  readonly timestamp: number;
}

/** Bytes of an I420 frame (chroma planes are half size, rounded up). */
export function i420Size(width: number, height: number): number {
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height + 2 * chroma;
}

export function isVideoFrame(value: unknown): value is VideoFrame {
  if (typeof value !== 'object' || value === null) return false;
  const frame = value as Partial<VideoFrame>;
  return frame.format === 'i420' && frame.data instanceof Uint8Array && typeof frame.width === 'number' && typeof frame.height === 'number';
}

/** Checks that a frame's buffer matches its size (handlers may return anything). */
export function assertVideoFrame(frame: VideoFrame): void {
  if (!(frame.width > 0 && frame.height > 0 && Number.isInteger(frame.width) && Number.isInteger(frame.height))) {
    throw new TypeError(`a video frame needs positive integer width and height; got ${frame.width}x${frame.height}`);
  }
  if (frame.data.length !== i420Size(frame.width, frame.height)) {
    throw new TypeError(`an I420 frame of ${frame.width}x${frame.height} has ${i420Size(frame.width, frame.height)} bytes; got ${frame.data.length}`);
  }
}

/**
 * Opt-in conversion for handlers that want pixels: I420 → RGBA (BT.601 limited range, as browsers
 * encode camera video).
 */
export function i420ToRgba(frame: VideoFrame): Uint8ClampedArray {
  const { width, height, data } = frame;
  const chromaWidth = Math.ceil(width / 2);
  const uOffset = width * height;
  const vOffset = uOffset + chromaWidth * Math.ceil(height / 2);
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * chromaWidth + (x >> 1);
      const Y = 1.164 * (data[y * width + x]! - 16);
      const U = data[uOffset + c]! - 128;
      const V = data[vOffset + c]! - 128;
      const o = (y * width + x) * 4;
      out[o] = Y + 1.596 * V;
      out[o + 1] = Y - 0.392 * U - 0.813 * V;
      out[o + 2] = Y + 2.017 * U;
      out[o + 3] = 255;
    }
  }
  return out;
}

/** RGBA → I420 (BT.601 limited range), the inverse of `i420ToRgba`; chroma averaged over 2x2 blocks. */
export function rgbaToI420(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, timestamp = 0): VideoFrame {
  const chromaWidth = Math.ceil(width / 2);
  const chromaHeight = Math.ceil(height / 2);
  const data = new Uint8Array(i420Size(width, height));
  const uOffset = width * height;
  const vOffset = uOffset + chromaWidth * chromaHeight;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[y * width + x] = Math.round(16 + 0.257 * rgba[o]! + 0.504 * rgba[o + 1]! + 0.098 * rgba[o + 2]!);
    }
  }
  for (let cy = 0; cy < chromaHeight; cy++) {
    for (let cx = 0; cx < chromaWidth; cx++) {
      let r = 0, g = 0, b = 0, n = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const x = cx * 2 + dx, y = cy * 2 + dy;
          if (x >= width || y >= height) continue;
          const o = (y * width + x) * 4;
          r += rgba[o]!; g += rgba[o + 1]!; b += rgba[o + 2]!; n++;
        }
      }
      r /= n; g /= n; b /= n;
      data[uOffset + cy * chromaWidth + cx] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      data[vOffset + cy * chromaWidth + cx] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
    }
  }
  return { width, height, format: 'i420', data, timestamp };
}
