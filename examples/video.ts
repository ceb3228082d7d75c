/**
 * Video: a frame function served to browsers over WebRTC (VP8, encoded and decoded by ffmpeg).
 *
 * The function gets each camera frame and returns the frame to send back. Frames are I420: a plane
 * of luma (Y, one byte per pixel, width x height) then two chroma planes (U and V, one byte per
 * 2x2 pixels). Here: black and white (chroma set to neutral, 128), with a white square in the corner.
 *
 * Needs ffmpeg on the PATH (Debian: apt-get install ffmpeg vpx-tools).
 * Run it:  npx tsx examples/video.ts   then open http://localhost:8000/ and allow the camera.
 */
import Koa from 'koa';
import { listen, Stream, type VideoFrame } from 'callstream';

function blackAndWhite(frame: VideoFrame): VideoFrame {
  const { width, height } = frame;
  const data = new Uint8Array(frame.data); // a copy: the frame given may be reused
  data.fill(128, width * height); // both chroma planes: no colour left
  const size = Math.min(32, width, height); // the overlay: a white square, 8 pixels in
  for (let row = 8; row < 8 + size && row < height; row++) {
    data.fill(235, row * width + 8, row * width + Math.min(width, 8 + size)); // 235: white in video range
  }
  return { ...frame, data };
}

const app = new Koa();
new Stream(blackAndWhite, { modality: 'video' }).mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
