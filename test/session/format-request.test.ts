import { expect } from 'chai';
import type { AudioFormat } from '../../src/audio/frame.js';
import { type AudioHandler, DEFAULT_INPUT_FORMAT, DEFAULT_OUTPUT_FORMAT, resolveInputFormat, resolveOutputFormat, type StreamHandler } from '../../src/session/handler.js';

const PHONE: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
const OPUS: AudioFormat = { encoding: 'pcm16', sampleRate: 48000 };
const PCM24: AudioFormat = { encoding: 'pcm16', sampleRate: 24000 };

/** μ-law untouched where the wire carries it, 24 kHz PCM elsewhere: a speech-to-speech bridge's choice. */
const perTransport = (transport: AudioFormat): AudioFormat => (transport.encoding === 'mulaw' && transport.sampleRate === 8000 ? transport : PCM24);

describe('session/handler: format requests', () => {
  it('keeps FastRTC\'s defaults when nothing is declared', () => {
    const handler: StreamHandler = {};
    expect(resolveInputFormat(handler, PHONE)).to.deep.equal(DEFAULT_INPUT_FORMAT);
    expect(resolveOutputFormat(handler, PHONE)).to.deep.equal(DEFAULT_OUTPUT_FORMAT);
  });

  it('resolves native to the transport\'s format, and a fixed format to itself', () => {
    const native: StreamHandler = { inputFormat: 'native', outputFormat: 'native' };
    expect(resolveInputFormat(native, PHONE)).to.deep.equal(PHONE);
    expect(resolveOutputFormat(native, OPUS)).to.deep.equal(OPUS);
    const fixed: StreamHandler = { inputFormat: { encoding: 'pcm16', sampleRate: 16000 } };
    expect(resolveInputFormat(fixed, PHONE)).to.deep.equal({ encoding: 'pcm16', sampleRate: 16000 });
    expect(resolveOutputFormat(fixed, PHONE)).to.deep.equal({ encoding: 'pcm16', sampleRate: 16000 }, 'the output follows a declared input');
  });

  it('calls a function with the transport\'s format: one handler, a format per connection', () => {
    const seen: AudioFormat[] = [];
    const handler: StreamHandler = {
      inputFormat: (transport) => {
        seen.push(transport);
        return perTransport(transport);
      },
    };
    expect(resolveInputFormat(handler, PHONE)).to.deep.equal(PHONE);
    expect(resolveInputFormat(handler, OPUS)).to.deep.equal(PCM24);
    expect(seen).to.deep.equal([PHONE, OPUS]);
    expect(resolveOutputFormat(handler, PHONE)).to.deep.equal(PHONE, 'the output follows a declared input function');
    expect(resolveOutputFormat(handler, { encoding: 'pcm16', sampleRate: 16000 })).to.deep.equal(PCM24);
  });

  it('resolves an output function on its own, and works for session functions too', () => {
    const handler: StreamHandler = { inputFormat: 'native', outputFormat: perTransport };
    expect(resolveInputFormat(handler, OPUS)).to.deep.equal(OPUS);
    expect(resolveOutputFormat(handler, OPUS)).to.deep.equal(PCM24);
    const fn: AudioHandler = Object.assign(() => undefined, { inputFormat: perTransport });
    expect(resolveInputFormat(fn, PHONE)).to.deep.equal(PHONE);
    expect(resolveOutputFormat(fn, OPUS)).to.deep.equal(PCM24);
  });
});
