import type { EmitItem } from '../session/emit.js';
import type { SessionContext, StreamHandler, VideoFunction } from '../session/handler.js';
import type { VideoFrame } from './frame.js';

/** Wraps FastRTC's video function `(frame, inputs) => frame` as a stream handler (video only, no audio). */
export function videoFunctionHandler(fn: VideoFunction): StreamHandler {
  return {
    inputFormat: 'native',
    copy() {
      return videoFunctionHandler(fn);
    },
    videoReceive(frame: VideoFrame, ctx: SessionContext) {
      (this as { last?: ReturnType<VideoFunction> }).last = fn(frame, ctx.inputs);
    },
    async videoEmit(): Promise<VideoFrame | EmitItem | undefined | void> {
      const self = this as { last?: ReturnType<VideoFunction> };
      const out = await self.last;
      self.last = undefined;
      return out;
    },
  };
}
