import { expect } from 'chai';
import { dtmfTones } from '../../src/audio/dtmf.js';
import { type Clock, ManualClock } from '../../src/clock.js';
import { JitteryClock } from '../support/jittery-clock.js';
import { silentLogger } from '../../src/logger.js';
import type { ParticipantEndpoint, RoomNotice } from '../../src/rooms/participant.js';
import { Room } from '../../src/rooms/room.js';
import type { ParticipantInfo } from '../../src/session/room-access.js';
import { decodeDtmf } from '../support/goertzel.js';
import { rejection } from '../support/rejection.js';
import { toneFrame, toneLevels } from '../support/tones.js';


class Endpoint implements ParticipantEndpoint {
  readonly heard: Int16Array[] = [];
  readonly notices: RoomNotice[] = [];
  deliveries = 0;
  wantsMix = false;
  keep = true;
  deliver(mix: Int16Array | undefined): void {
    this.deliveries++;
    if (this.keep) this.heard.push(mix ? mix.slice() : new Int16Array(160));
  }
  tell(notice: RoomNotice): void {
    this.notices.push(notice);
  }
  audio(): Int16Array {
    const out = new Int16Array(this.heard.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of this.heard) {
      out.set(f, at);
      at += f.length;
    }
    return out;
  }
}

const info = (id: string): ParticipantInfo => ({ id, transport: 'telephone', label: id, joinedAt: 0, speaking: false });

function room(clock: Clock, maxParticipants = 10): Room {
  return new Room({ name: 'test', sampleRate: 8000, maxParticipants, clock, logger: silentLogger(), instanceId: 'here' });
}

describe('rooms: the mixing room on an injected clock', () => {
  it('ticks against absolute deadlines: after 10 minutes of late timers, ticks × 20 ms match the clock within one late timer, every participant got every frame', () => {
    const manual = new ManualClock(0);
    const r = room(new JitteryClock(manual));
    const a = new Endpoint();
    const b = new Endpoint();
    a.keep = b.keep = false;
    r.add(info('a'), a);
    r.add(info('b'), b);
    for (let t = 0; t < 600_000; t += 1000) manual.advance(1000);
    const { startedAt, ticks, skippedTicks } = r.clockState();
    expect(skippedTicks).to.equal(0);
    // Ticks × 20 ms against the clock: behind by at most the one late timer not fired yet, never more.
    const driftMs = ticks * 20 - (manual.now() - startedAt);
    expect(driftMs).to.be.within(-40, 0);
    expect(a.deliveries).to.equal(b.deliveries);
    expect(a.deliveries).to.equal(r.ticks);
  });

  it('skips the ticks a stalled event loop missed (the far ends stay live) and keeps its schedule', () => {
    const clock = new ManualClock(0);
    const r = room(clock);
    r.add(info('a'), new Endpoint());
    clock.advance(200);
    clock.stall(100);
    clock.advance(0);
    clock.advance(100);
    const { ticks, skippedTicks } = r.clockState();
    expect(ticks + skippedTicks).to.equal(20);
    expect(skippedTicks).to.equal(2); // 220 and 240 were more than 40 ms late at 300; 260 on is mixed
  });

  it('refuses a participant over the limit with ROOM_FULL, and closes when the last one leaves', async () => {
    const clock = new ManualClock(0);
    const r = room(clock, 2);
    r.add(info('a'), new Endpoint());
    r.add(info('b'), new Endpoint());
    const error = await rejection(Promise.resolve().then(() => r.add(info('c'), new Endpoint())));
    expect(error).to.include({ code: 'ROOM_FULL' });
    expect(r.remove('nobody', 'left')).to.equal(false);
    r.remove('a', 'left');
    expect(r.closed).to.equal(false);
    r.remove('b', 'ended');
    expect(r.closed).to.equal(true);
    expect(clock.pending()).to.equal(0);
  });

  it('tells the others who joins and leaves, and everyone who speaks', () => {
    const clock = new ManualClock(0);
    const r = room(clock);
    const a = new Endpoint();
    const b = new Endpoint();
    r.add(info('a'), a);
    r.add(info('b'), b);
    expect(a.notices.map((n) => n.event)).to.deep.equal(['join']);
    expect(b.notices).to.deep.equal([]);
    for (let i = 0; i < 5; i++) {
      r.voice('a', toneFrame(300, 8000, i));
      clock.advance(20);
    }
    expect(b.notices.at(-1)).to.deep.include({ event: 'speaking', speaking: true });
    expect(a.notices.at(-1)).to.deep.include({ event: 'speaking', speaking: true });
    clock.advance(1000);
    expect(b.notices.at(-1)).to.deep.include({ event: 'speaking', speaking: false });
    r.remove('a', 'left');
    expect(b.notices.at(-1)).to.deep.include({ event: 'leave', reason: 'left' });
  });

  it('keeps a participant that vanishes mid-mix from harming the others', () => {
    const clock = new ManualClock(0);
    const r = room(clock);
    const a = new Endpoint();
    const broken = new Endpoint();
    broken.deliver = () => {
      throw new Error('socket gone');
    };
    r.add(info('a'), a);
    r.add(info('broken'), broken);
    r.add(info('c'), new Endpoint());
    clock.advance(100);
    expect(r.has('broken')).to.equal(false);
    expect(a.notices.at(-1)).to.deep.include({ event: 'leave', reason: 'lost' });
    expect(a.deliveries).to.equal(5);
  });

  it('keeps one participant\'s key tones from the others', () => {
    const clock = new ManualClock(0);
    const r = room(clock);
    const a = new Endpoint();
    const b = new Endpoint();
    r.add(info('a'), a);
    r.add(info('b'), b);
    const tones = dtmfTones('159#', 8000);
    for (let at = 0; at + 160 <= tones.length; at += 160) {
      r.voice('a', tones.subarray(at, at + 160));
      clock.advance(20);
    }
    expect(decodeDtmf(b.audio(), 8000)).to.equal('');
    // The same tones as plain voice (the detector off) would be heard: the check can fail.
    expect(decodeDtmf(tones, 8000)).to.equal('159#');
    // Speech-like sound still passes.
    for (let i = 0; i < 10; i++) {
      r.voice('a', toneFrame(440, 8000, i));
      clock.advance(20);
    }
    expect(toneLevels(b.heard.at(-1)!, 8000, [440])[440]).to.be.above(3000);
  });
});
