import type { AudioFrame } from '../audio/frame.js';

/** Extra values a handler produces beside audio (a transcript, JSON): FastRTC's AdditionalOutputs. */
export class AdditionalOutputs {
  readonly args: readonly unknown[];

  constructor(...args: unknown[]) {
    this.args = args;
  }
}

/** Emitted by a handler to end its own session once the audio already queued has played. */
export class CloseStream {
  constructor(readonly message = 'The handler ended the stream.') {}
}

/** Anything a handler may emit. */
export type EmitItem = AudioFrame | AdditionalOutputs | CloseStream;

export function isAudioFrame(item: unknown): item is AudioFrame {
  if (typeof item !== 'object' || item === null) return false;
  const frame = item as Partial<AudioFrame>;
  return (
    (frame.encoding === 'pcm16' && (item as { samples?: unknown }).samples instanceof Int16Array) ||
    (frame.encoding === 'mulaw' && (item as { bytes?: unknown }).bytes instanceof Uint8Array)
  );
}
