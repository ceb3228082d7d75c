import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import { SessionRegistry } from '../../src/session/registry.js';

describe('SessionRegistry (one limit for every transport)', () => {
  it('counts every transport against one limit', () => {
    const registry = new SessionRegistry(2, new ManualClock());
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

  it('frees a reservation at its deadline unless confirmed', () => {
    const clock = new ManualClock();
    const registry = new SessionRegistry(1, clock);
    const slot = registry.reserve('telephone', 1000);
    clock.advance(999);
    expect(registry.size).to.equal(1);
    clock.advance(1);
    expect(registry.size).to.equal(0);
    const kept = registry.reserve('telephone', 1000);
    kept!.confirm();
    clock.advance(5000);
    expect(registry.size).to.equal(1);
    void slot;
  });

  it('is unlimited with Infinity', () => {
    const registry = new SessionRegistry(Infinity, new ManualClock());
    for (let i = 0; i < 1000; i++) expect(registry.reserve('websocket')).to.not.equal(undefined);
  });
});
