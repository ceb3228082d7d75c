import { expect } from 'chai';
import { ClientFaults } from '../src/client-faults.js';
import { ManualClock } from '../src/clock.js';
import { silentLogger } from '../src/logger.js';

describe('client faults: warnings a client can cause are rate-limited', () => {
  it(`tracks at most ${ClientFaults.MAX_KINDS} kinds, however many a client names`, () => {
    const faults = new ClientFaults(new ManualClock());
    for (let i = 0; i < 10_000; i++) faults.warn(silentLogger(), {}, `/route-${i} refused`);
    expect(faults.kindCount).to.equal(ClientFaults.MAX_KINDS);
  });
});
