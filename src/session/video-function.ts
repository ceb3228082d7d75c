import type { EmitItem } from './emit.js';
import type { SessionContext, StreamHandler, VideoFunction } from './handler.js';
import type { VideoFrame } from '../video/frame.js';

/** Wraps FastRTC's video function `(frame, inputs) => frame` as a stream handler (video only, no audio). */
export function videoFunctionHandler(fn: VideoFunction): StreamHandler {
  // Each session gets its own copy, so this holds one session's result between receive and emit.
  let last: ReturnType<VideoFunction>;
  return {
    inputFormat: 'native',
    copy: () => videoFunctionHandler(fn),
    videoReceive(frame: VideoFrame, ctx: SessionContext) {
      last = fn(frame, ctx.inputs);
    },
    async videoEmit(): Promise<VideoFrame | EmitItem | undefined | void> {
      const out = await last;
      last = undefined;
      return out;
    },
  };
}
