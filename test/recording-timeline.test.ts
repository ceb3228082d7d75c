import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { pcmFrame } from '../src/audio/frame.js';
import { ManualClock } from '../src/clock.js';
import { SessionRecorder } from '../src/recording/recorder.js';
import type { Session } from '../src/session/session.js';

/** Just what the recorder reads of a Session. */
class FakeSession extends EventEmitter {
  readonly id = 'timeline';
  readonly log = pino({ level: 'silent' });
  constructor(readonly startedAt: number) {
    super();
  }

  /** The recorder finishes its file at the session's end. */
  onEnd(cleanup: () => void): void {
    this.once('stop', cleanup);
  }
}

const RATE = 8000;
const FRAME = 160;

function frameWithBurst(index: number, burstAt: number): Int16Array {
  return new Int16Array(FRAME).fill(index === burstAt ? 20000 : 0);
}

function channels(file: string): { left: Int16Array; right: Int16Array } {
  const data = readFileSync(file);
  const samples = new Int16Array(data.buffer.slice(data.byteOffset + 44));
  const left = new Int16Array(samples.length / 2);
  const right = new Int16Array(samples.length / 2);
  for (let i = 0; i < left.length; i++) {
    left[i] = samples[2 * i]!;
    right[i] = samples[2 * i + 1]!;
  }
  return { left, right };
}

const onset = (samples: Int16Array) => samples.findIndex((s) => Math.abs(s) > 1000);

describe('recording timeline: the handler channel follows the caller channel, not the sender’s delays', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(path.join(os.tmpdir(), 'callstream-timeline-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  /**
   * Frames are captured every 20 ms; some reach the server late (by `delays[i]` ms). The echo of
   * frame i is played when it arrives. The caller's burst and its echo must line up within one frame.
   */
  async function record(firstFrameAfterMs: number, delays: (i: number) => number): Promise<number> {
    const clock = new ManualClock(1000);
    const session = new FakeSession(clock.now());
    const recorder = new SessionRecorder(session as unknown as Session, { directory, sampleRate: RATE }, clock);
    const burstAt = 30;
    const start = clock.now();
    let arrives = start;
    for (let i = 0; i < 60; i++) {
      // Over a socket, a frame held back holds back the ones behind it.
      arrives = Math.max(arrives, start + firstFrameAfterMs + (i + 1) * 20 + delays(i));
      clock.advance(arrives - clock.now());
      const samples = frameWithBurst(i, burstAt);
      session.emit('inbound', pcmFrame(samples, RATE));
      session.emit('outbound', pcmFrame(samples, RATE), clock.now());
    }
    session.emit('stop');
    await recorder.finished;
    const { left, right } = channels(recorder.file);
    expect(onset(left)).to.be.greaterThan(0);
    return onset(right) - onset(left);
  }

  it('lines up a sender that starts late and then keeps time', async () => {
    expect(await record(150, () => 0)).to.be.within(0, FRAME);
  });

  it('lines up a sender whose frames arrive late and in bursts', async () => {
    // Every frame from the 5th to the 40th is held back by up to 90 ms, as a congested link does.
    const lag = (i: number) => (i >= 5 && i < 40 ? 90 - ((i * 37) % 60) : 0);
    const skew = await record(40, lag);
    // The echo of a late frame is played late, so it sits later, by at most that frame's delay.
    expect(skew).to.be.within(0, FRAME + 90 * 8);
  });

  it('places a late frame’s echo by when it was played, not by when the sender started', async () => {
    // The burst frame is 60 ms late: its echo really is heard 60 ms later than an on-time one.
    const skew = await record(0, (i) => (i === 30 ? 60 : 0));
    expect(skew).to.be.within(60 * 8 + FRAME - 8, 60 * 8 + FRAME + 8);
  });
});
