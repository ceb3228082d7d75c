import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import { PacingClock } from '../../src/session/pacing-clock.js';

describe('PacingClock: one timer for the pacing of every session', () => {
  it('runs deadlines of one 5 ms slot together, never early and at most one slot late', () => {
    const base = new ManualClock(1000);
    let armed = 0;
    const at = base.at.bind(base);
    base.at = (when, fn) => {
      armed++;
      return at(when, fn);
    };
    const pacing = new PacingClock(base, 5);
    const ran: [string, number][] = [];
    for (const [name, when] of [['a', 1001], ['b', 1003], ['c', 1005], ['d', 1006]] as const) pacing.at(when, () => ran.push([name, base.now()]));
    expect(armed, 'one underlying timer for the earliest slot').to.equal(1);
    base.advance(4);
    expect(ran).to.deep.equal([]);
    base.advance(1);
    expect(ran).to.deep.equal([['a', 1005], ['b', 1005], ['c', 1005]]);
    base.advance(4);
    expect(ran).to.have.length(3);
    base.advance(1);
    expect(ran.at(-1)).to.deep.equal(['d', 1010]);
    expect(pacing.pendingSlots).to.equal(0);
  });

  it('forgets cancelled deadlines, and keeps the ones set while a slot runs', () => {
    const base = new ManualClock(0);
    const pacing = new PacingClock(base, 5);
    const ran: string[] = [];
    const handle = pacing.at(2, () => ran.push('cancelled'));
    pacing.at(3, () => {
      ran.push('first');
      pacing.after(10, () => ran.push('later'));
    });
    handle.cancel();
    base.advance(5);
    expect(ran).to.deep.equal(['first']);
    base.advance(10);
    expect(ran).to.deep.equal(['first', 'later']);
  });
});
