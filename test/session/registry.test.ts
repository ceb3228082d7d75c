import { expect } from 'chai';
import { SessionRegistry } from '../../src/session/registry.js';

describe('SessionRegistry (one limit for every transport)', () => {
  it('counts every transport against one limit', () => {
    const registry = new SessionRegistry(2);
    const a = registry.reserve('telephone');
    const b = registry.reserve('webrtc');
    expect(registry.reserve('websocket')).to.equal(undefined);
    expect(registry.counts()).to.deep.equal({ telephone: 1, webrtc: 1, websocket: 0 });
    a!.release();
    a!.release();
    expect(registry.size).to.equal(1);
    expect(registry.reserve('websocket')).to.not.equal(undefined);
    b!.release();
  });

  it('is unlimited with Infinity', () => {
    const registry = new SessionRegistry(Infinity);
    for (let i = 0; i < 1000; i++) expect(registry.reserve('websocket')).to.not.equal(undefined);
  });
});
