import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import { clientKey, RateLimiter } from '../../src/http/rate-limit.js';

describe('RateLimiter (per-key token buckets on an injected clock)', () => {
  it('allows a burst of `limit`, then refuses with the time until the next token', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limit: 3, windowMs: 3000 }, clock);
    expect([limiter.hit('a'), limiter.hit('a'), limiter.hit('a')]).to.deep.equal([0, 0, 0]);
    expect(limiter.hit('a')).to.equal(1000);
    expect(limiter.retryAfterMs('a')).to.equal(1000);
    expect(limiter.refused).to.equal(1);
    clock.advance(400);
    expect(limiter.retryAfterMs('a')).to.equal(600);
    clock.advance(600);
    expect(limiter.retryAfterMs('a')).to.equal(0);
    expect(limiter.hit('a')).to.equal(0);
    expect(limiter.hit('a')).to.equal(1000);
  });

  it('keeps keys apart', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000 }, new ManualClock());
    expect(limiter.hit('10.0.0.1')).to.equal(0);
    expect(limiter.hit('10.0.0.1')).to.be.greaterThan(0);
    expect(limiter.hit('10.0.0.2')).to.equal(0);
  });

  it('refills evenly and never beyond the burst', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limit: 2, windowMs: 1000 }, clock);
    limiter.hit('a');
    limiter.hit('a');
    clock.advance(10_000);
    expect([limiter.hit('a'), limiter.hit('a')]).to.deep.equal([0, 0]);
    expect(limiter.hit('a')).to.equal(500);
  });

  it('forgets full buckets and bounds the keys it keeps', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ limit: 2, windowMs: 1000 }, clock, 100);
    for (let i = 0; i < 1000; i++) limiter.hit(`ip-${i}`);
    expect(limiter.size).to.be.at.most(100);
    clock.advance(1000);
    limiter.hit('fresh');
    expect(limiter.retryAfterMs('ip-999')).to.equal(0);
    expect(limiter.size).to.be.at.most(100);
  });

  it('checking does not count', () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000 }, new ManualClock());
    for (let i = 0; i < 10; i++) expect(limiter.retryAfterMs('a')).to.equal(0);
    expect(limiter.hit('a')).to.equal(0);
  });

  it('refuses a nonsensical rule', () => {
    const clock = new ManualClock();
    expect(() => new RateLimiter({ limit: 0, windowMs: 1000 }, clock)).to.throw(TypeError);
    expect(() => new RateLimiter({ limit: 1.5, windowMs: 1000 }, clock)).to.throw(TypeError);
    expect(() => new RateLimiter({ limit: 1, windowMs: 0 }, clock)).to.throw(TypeError);
  });

  it('keys clients by IPv4 address, or by IPv6 /64', () => {
    expect(clientKey('203.0.113.7')).to.equal('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).to.equal('203.0.113.7');
    expect(clientKey('2001:db8:0:12:abcd::1')).to.equal('2001:db8:0:12::/64');
    expect(clientKey('2001:0DB8:0000:0012:1:2:3:4')).to.equal('2001:db8:0:12::/64');
    expect(clientKey('2001:db8::1')).to.equal('2001:db8:0:0::/64');
    expect(clientKey('::1')).to.equal('0:0:0:0::/64');
  });
});
