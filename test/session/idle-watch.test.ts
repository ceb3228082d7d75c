import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import { IdleWatch, type Watched } from '../../src/session/idle-watch.js';

/** A session as the watch sees it: a flag the transport sets, and when it was ended. */
class Client implements Watched {
  heard = false;
  endedAt: number | undefined;
  quietMs: number | undefined;

  constructor(private readonly clock: ManualClock) {}

  takeHeard(): boolean {
    const heard = this.heard;
    this.heard = false;
    return heard;
  }

  endIdle(quietMs: number): void {
    this.endedAt = this.clock.now();
    this.quietMs = quietMs;
  }
}

describe('session/idle-watch: the inactivity deadline of every session on one timer', () => {
  it('ends a session that hears nothing at its deadline, never before it and at most one tick after', () => {
    const clock = new ManualClock(0);
    const watch = new IdleWatch(clock, 1000);
    const quiet = new Client(clock);
    watch.add(quiet, 10_000);
    clock.advance(9_999);
    expect(quiet.endedAt, 'not before the deadline').to.equal(undefined);
    clock.advance(1_001);
    expect(quiet.endedAt).to.be.within(10_000, 11_000);
    expect(quiet.quietMs).to.be.at.least(10_000);
    expect(watch.size).to.equal(0);
  });

  it('keeps a session that hears anything, however rarely, within each deadline', () => {
    const clock = new ManualClock(0);
    const watch = new IdleWatch(clock, 500);
    const talking = new Client(clock);
    watch.add(talking, 5_000);
    // One sign of life every 4.9 s for ten minutes: never quiet for a whole deadline.
    for (let t = 0; t < 600_000; t += 4_900) {
      clock.advance(4_900);
      talking.heard = true;
    }
    expect(talking.endedAt).to.equal(undefined);
    // Then silence: ended a deadline after the last sign of life (plus at most two ticks: the one
    // that saw the flag, and the one at the deadline).
    const last = clock.now();
    clock.advance(6_500);
    expect(talking.endedAt! - last).to.be.within(5_000, 6_000);
  });

  it('uses one timer for every session, and none when no session is watched', () => {
    const clock = new ManualClock(0);
    const watch = new IdleWatch(clock, 1000);
    expect(clock.pending()).to.equal(0);
    const clients = Array.from({ length: 500 }, () => new Client(clock));
    clients.forEach((client, i) => watch.add(client, 10_000 + i * 10));
    expect(clock.pending(), 'one timer for 500 sessions').to.equal(1);
    for (let i = 0; i < 250; i++) watch.remove(clients[i]!);
    expect(clock.pending()).to.equal(1);
    clock.advance(30_000);
    expect(clients.slice(250).every((client) => client.endedAt !== undefined)).to.equal(true);
    expect(clients.slice(0, 250).every((client) => client.endedAt === undefined), 'removed sessions are never ended').to.equal(true);
    expect(watch.size).to.equal(0);
    expect(clock.pending(), 'no timer once nothing is watched').to.equal(0);
  });

  it('picks a tick of a tenth of the shortest deadline, between 10 ms and 1 s', () => {
    expect(IdleWatch.tickFor([60_000, 10_000])).to.equal(1000);
    expect(IdleWatch.tickFor([60_000, 3_000])).to.equal(300);
    expect(IdleWatch.tickFor([50])).to.equal(10);
    expect(IdleWatch.tickFor([0, Infinity])).to.equal(1000);
  });
});
