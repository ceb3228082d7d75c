import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';
import { FixedUrlTunnel } from '../../tunnels/fixed-url.js';

describe('tunnels: a fixed public URL', () => {
  it('hands on the origin of the URL it is given, and closes once', async () => {
    const tunnel = new FixedUrlTunnel('https://Voice.Example.com:8443/');
    expect(tunnel.url).to.equal('https://voice.example.com:8443');
    const open = await tunnel.open();
    expect(open.url).to.equal('https://voice.example.com:8443');
    let closes = 0;
    open.on('close', () => closes++);
    await open.close();
    await open.close();
    expect(closes).to.equal(1);
  });

  it('refuses what is not an http(s) origin, with a hint', () => {
    for (const bad of ['voice.example.com', 'ftp://example.com', 'https://example.com/voice', 'https://example.com/?a=1']) {
      let error: unknown;
      try {
        new FixedUrlTunnel(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).to.be.instanceOf(CallstreamError);
      expect((error as CallstreamError).code).to.equal('CONFIG_ERROR');
      expect((error as CallstreamError).hint).to.contain('--public-url');
    }
  });
});
