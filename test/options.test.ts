import { expect } from 'chai';
import { resolveOptions } from '../src/options.js';

describe('Stream options', () => {
  it('defaults for a telephony gateway: audio, send-receive, unlimited, no time limit', () => {
    const options = resolveOptions({}, {});
    expect(options.modality).to.equal('audio');
    expect(options.mode).to.equal('send-receive');
    expect(options.concurrencyLimit).to.equal(Infinity);
    expect(options.timeLimitMs).to.equal(undefined);
    expect(options.twilioAuthToken).to.equal(undefined);
  });

  it('reads PUBLIC_URL and TWILIO_AUTH_TOKEN from the environment', () => {
    const options = resolveOptions({}, { PUBLIC_URL: 'https://example.com/', TWILIO_AUTH_TOKEN: 'tok' });
    expect(options.publicUrl).to.equal('https://example.com');
    expect(options.twilioAuthToken).to.equal('tok');
  });

  it('refuses nonsense with clear messages', () => {
    expect(() => resolveOptions({ concurrencyLimit: 0 }, {})).to.throw(/concurrencyLimit/);
    expect(() => resolveOptions({ timeLimit: -1 }, {})).to.throw(/timeLimit/);
    expect(() => resolveOptions({ publicUrl: 'not a url' }, {})).to.throw(/publicUrl/);
    expect(() => resolveOptions({ publicUrl: 'https://example.com/voice' }, {})).to.throw(/without a path/);
    expect(() => resolveOptions({ telephone: { leadMs: 5 } }, {})).to.throw(/leadMs/);
  });

  it('treats null and Infinity as unlimited', () => {
    expect(resolveOptions({ concurrencyLimit: null }, {}).concurrencyLimit).to.equal(Infinity);
    expect(resolveOptions({ concurrencyLimit: Infinity }, {}).concurrencyLimit).to.equal(Infinity);
    expect(resolveOptions({ timeLimit: 30 }, {}).timeLimitMs).to.equal(30000);
  });

  it('ends idle sessions after 60 s unless idleTimeoutMs says otherwise (0 or Infinity: never)', () => {
    expect(resolveOptions({}, {}).idleTimeoutMs).to.equal(60_000);
    expect(resolveOptions({ idleTimeoutMs: 15_000 }, {}).idleTimeoutMs).to.equal(15_000);
    expect(resolveOptions({ idleTimeoutMs: 0 }, {}).idleTimeoutMs).to.equal(undefined);
    expect(resolveOptions({ idleTimeoutMs: Infinity }, {}).idleTimeoutMs).to.equal(undefined);
    for (const bad of [-1, NaN, '60000']) expect(() => resolveOptions({ idleTimeoutMs: bad as number }, {}), String(bad)).to.throw(/idleTimeoutMs/);
  });
});
