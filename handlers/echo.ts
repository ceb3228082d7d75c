import type { AudioFrame, SessionContext, StreamHandler } from '../src/index.js';

/**
 * Sends back what it hears, in the transport's own format: no transcoding on any transport (a phone
 * call's μ-law bytes go back untouched; over WebRTC only the codec itself runs).
 */
export class EchoHandler implements StreamHandler {
  readonly inputFormat = 'native' as const;
  readonly outputFormat = 'native' as const;

  copy(): EchoHandler {
    return new EchoHandler();
  }

  receive(frame: AudioFrame, ctx: SessionContext): void {
    ctx.send(frame);
  }
}

/** Echo in a fixed format (e.g. 16 kHz PCM): the session decodes and resamples both ways. */
export class PcmEchoHandler implements StreamHandler {
  readonly inputFormat;

  constructor(readonly sampleRate = 16000) {
    this.inputFormat = { encoding: 'pcm16', sampleRate } as const;
  }

  copy(): PcmEchoHandler {
    return new PcmEchoHandler(this.sampleRate);
  }

  receive(frame: AudioFrame, ctx: SessionContext): void {
    ctx.send(frame);
  }
}
