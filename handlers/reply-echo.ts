import { pcmFrame } from '../src/index.js';
import { ReplyOnPause, type ReplyOnPauseOptions } from './reply-on-pause/index.js';

/** FastRTC's quickstart: say something, pause, and hear it back. */
export function replyEcho(options: ReplyOnPauseOptions = {}): ReplyOnPause {
  return new ReplyOnPause(async function* (utterance) {
    yield pcmFrame(utterance.samples, utterance.sampleRate);
  }, options);
}
