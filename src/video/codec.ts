import type { VideoFrame } from './frame.js';

/** VP8 → I420 for one peer. Frames come out in order through the callback given at creation. */
export interface VideoDecoder {
  /** Feeds one VP8 frame; false when it cannot be used yet (no keyframe so far: ask for one). */
  decode(vp8: Buffer, timestamp: number): boolean;
  /** Frames fed but not yet decoded. */
  readonly inFlight: number;
  close(): void;
}

/** I420 → VP8 for one peer and one frame size. */
export interface VideoEncoder {
  readonly width: number;
  readonly height: number;
  /** Frames fed but not yet encoded. */
  readonly inFlight: number;
  encode(frame: VideoFrame): void;
  close(): void;
}

export interface VideoEncoderOptions {
  frameRate?: number;
  bitrateKbps?: number;
  /** Seconds between keyframes. Default 2. */
  keyframeIntervalS?: number;
}

/** A VP8 codec behind a small interface: the default runs ffmpeg; another could run wasm. */
export interface VideoCodec {
  readonly name: string;
  createDecoder(onFrame: (frame: VideoFrame) => void, onError: (reason: string) => void): VideoDecoder;
  createEncoder(
    width: number,
    height: number,
    options: VideoEncoderOptions,
    onPacket: (vp8: Buffer, keyframe: boolean, timestamp: number) => void,
    onError: (reason: string) => void,
  ): VideoEncoder;
}
