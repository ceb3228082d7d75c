import { expect } from 'chai';
import type { AudioFrame } from '../../src/audio/frame.js';
import { ManualClock } from '../../src/clock.js';
import { Playback, type PlaybackSink } from '../../src/session/playback.js';
import type { PlayedEvent } from '../../src/session/types.js';

interface Sent {
  at: number;
  ms: number;
  /** The id of each 20 ms frame in this send (its first byte: see `audio()`). */
  frames: number[];
}

class RecordingSink implements PlaybackSink {
  sent: Sent[] = [];
  marks: { at: number; name: string }[] = [];
  clears = 0;
  constructor(private readonly clock: ManualClock) {}
  sendAudio(frame: AudioFrame): void {
    const bytes = frame.encoding === 'mulaw' ? frame.bytes : new Uint8Array(0);
    const frames = Array.from({ length: Math.ceil(bytes.length / 160) }, (_, i) => bytes[i * 160]!);
    this.sent.push({ at: this.clock.now(), ms: bytes.length / 8, frames });
  }
  clear(): void {
    this.clears++;
  }
  sentMs(): number {
    return this.sent.reduce((n, s) => n + s.ms, 0);
  }
  /** The ids of every frame sent, in the order they went out. */
  frameIds(): number[] {
    return this.sent.flatMap((s) => s.frames);
  }
}

/** Frame ids `from`, `from + 1`, ... as `audio()` numbers them (one byte: they wrap at 256). */
function ids(count: number, from = 0): number[] {
  return Array.from({ length: count }, (_, i) => (from + i) % 256);
}

class MarkingSink extends RecordingSink {
  sendMark(name: string): void {
    this.marks.push({ at: -1, name });
  }
}

/** μ-law audio of `ms` milliseconds whose bytes count up from `start` per frame (to trace frames). */
function audio(ms: number, start = 0): AudioFrame {
  const bytes = new Uint8Array(ms * 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (start + Math.floor(i / 160)) % 256;
  return { encoding: 'mulaw', sampleRate: 8000, bytes };
}

function setup(leadMs: number, marks = false, extra: Partial<ConstructorParameters<typeof Playback>[1]> = {}) {
  const clock = new ManualClock(1000);
  const sink = marks ? new MarkingSink(clock) : new RecordingSink(clock);
  const playback = new Playback(sink, { format: { encoding: 'mulaw', sampleRate: 8000 }, clock, leadMs, ...extra });
  return { clock, sink, playback };
}

describe('Playback (pacing on an injected clock)', () => {
  it('sends the lead at once, then one 20 ms frame per 20 ms at absolute times', () => {
    const { clock, sink, playback } = setup(160);
    playback.enqueue(audio(1000));
    expect(sink.sent).to.have.length(1);
    expect(sink.sent[0]!.ms).to.equal(160);
    clock.advance(1000);
    expect(sink.sentMs()).to.equal(1000);
    const steady = sink.sent.slice(1);
    steady.forEach((s, i) => {
      expect(s.ms).to.equal(20);
      expect(s.at).to.equal(1000 + 20 * (i + 1));
    });
    // Every frame once, in the order queued.
    expect(sink.frameIds()).to.deep.equal(ids(50));
  });

  it('keeps exactly one frame in flight with a 20 ms lead (the WebRTC setting)', () => {
    const { clock, sink, playback } = setup(20);
    playback.enqueue(audio(200));
    clock.advance(400);
    expect(sink.sent.map((s) => s.at)).to.deep.equal([1000, 1020, 1040, 1060, 1080, 1100, 1120, 1140, 1160, 1180]);
    expect(sink.sent.every((s) => s.ms === 20)).to.equal(true);
  });

  it('has no cumulative drift over a long session fed in pieces', () => {
    const { clock, sink, playback } = setup(160, false, { maxQueuedMs: 1e9 });
    // 10 minutes of audio enqueued 20 ms at a time, ahead of real time by the handler.
    for (let t = 0; t < 600_000; t += 20) {
      playback.enqueue(audio(20, t / 20));
      if (t % 100 === 0) clock.advance(20);
    }
    clock.advance(600_000);
    expect(sink.sentMs()).to.equal(600_000);
    expect(sink.frameIds()).to.deep.equal(ids(30_000));
    const last = sink.sent[sink.sent.length - 1]!;
    // The last frame leaves exactly lead-before its play time: start + 600 s - 160 ms.
    expect(last.at).to.equal(1000 + 600_000 - 160);
    expect(playback.idle).to.equal(true);
  });

  it('bursts to catch up when the timer fired late, and re-anchors when very late', () => {
    const { clock, sink, playback } = setup(20, false, { maxCatchUpMs: 200 });
    playback.enqueue(audio(1000));
    // The event loop stalls: nothing runs for 100 ms, then the timer fires.
    clock.stall(100);
    clock.advance(0);
    expect(sink.sent[sink.sent.length - 1]!.ms).to.equal(100); // catch-up burst keeps the absolute schedule
    clock.stall(500);
    clock.advance(0);
    expect(playback.lateCount).to.equal(1);
    // Neither the burst nor the re-anchoring skips, repeats or reorders a frame.
    clock.advance(1000);
    expect(sink.frameIds()).to.deep.equal(ids(50));
  });

  it('holds a partial frame for one frame time, then pads it with silence', () => {
    const { clock, sink, playback } = setup(160);
    playback.enqueue(audio(30));
    expect(sink.sentMs()).to.equal(20);
    clock.advance(10);
    expect(sink.sentMs()).to.equal(20);
    clock.advance(10);
    expect(sink.sentMs()).to.equal(40);
  });

  it('drops and counts audio beyond maxQueuedMs', () => {
    const { playback } = setup(160, false, { maxQueuedMs: 500 });
    let overflow = 0;
    playback.on('overflow', (ms) => (overflow += ms));
    playback.enqueue(audio(400));
    playback.enqueue(audio(400));
    expect(overflow).to.equal(400);
    expect(playback.droppedMs).to.equal(400);
    expect(playback.queuedMs).to.be.at.most(500);
  });

  it('reports progress from marks and treats marks returned after a clear as flushed', () => {
    const { clock, sink, playback } = setup(160, true, { markEveryMs: 100 });
    const events: PlayedEvent[] = [];
    playback.on('played', (e) => events.push(e));
    playback.enqueue(audio(1000));
    clock.advance(300); // 460 ms sent by now
    const marks = sink.marks.map((m) => m.name);
    expect(marks.length).to.be.greaterThan(2);
    // The far end acknowledges the first two marks: their audio has played.
    expect(playback.acknowledge(marks[0]!)).to.equal('played');
    expect(playback.acknowledge(marks[1]!)).to.equal('played');
    const confirmed = events[events.length - 1]!.playedMs;
    expect(confirmed).to.be.greaterThan(0);
    const report = playback.interrupt();
    expect(sink.clears).to.equal(1);
    expect(report.basis).to.equal('marks');
    expect(report.confirmedMs).to.equal(confirmed);
    expect(report.playedMs).to.be.within(confirmed, 460);
    expect(report.playedMs + report.unplayedMs).to.equal(1000);
    // Twilio returns every pending mark at once after clear: none of them counts as played.
    for (const name of marks.slice(2)) expect(playback.acknowledge(name)).to.equal('flushed');
    expect(playback.flushedMarks).to.equal(marks.length - 2);
    expect(events[events.length - 1]!.playedMs).to.be.at.most(report.playedMs);
  });

  it('clock-based interrupt reports what the far end played by the clock', () => {
    const { clock, sink, playback } = setup(20);
    playback.enqueue(audio(1000));
    clock.advance(250);
    const report = playback.interrupt();
    expect(report.basis).to.equal('clock');
    expect(report.playedMs).to.equal(250);
    expect(report.unplayedMs).to.equal(750);
    const before = sink.sentMs();
    clock.advance(1000);
    expect(sink.sentMs()).to.equal(before);
    expect(playback.idle).to.equal(true);
  });

  it('starts a new utterance after an interrupt and measures it from zero', () => {
    const { clock, sink, playback } = setup(20);
    playback.enqueue(audio(1000));
    clock.advance(100);
    playback.interrupt();
    const beforeInterrupt = sink.frameIds().length;
    playback.enqueue(audio(400, 100));
    clock.advance(200);
    const report = playback.interrupt();
    expect(report.playedMs).to.equal(200);
    expect(report.unplayedMs).to.equal(200);
    // What was cut is gone: the new utterance starts with its own first frame, in order.
    expect(sink.frameIds().slice(0, beforeInterrupt)).to.deep.equal(ids(beforeInterrupt));
    // 200 ms played and one frame ahead (the 20 ms lead).
    expect(sink.frameIds().slice(beforeInterrupt)).to.deep.equal(ids(11, 100));
  });

  it('drain() resolves once the far end has played everything', async () => {
    const { clock, playback } = setup(160);
    playback.enqueue(audio(210));
    let drained = false;
    const done = playback.drain().then(() => (drained = true));
    clock.advance(200);
    await Promise.resolve();
    expect(drained).to.equal(false);
    clock.advance(40);
    await done;
    expect(drained).to.equal(true);
  });

  it('emits an idle played event when an utterance has been played (clock basis)', () => {
    const { clock, playback } = setup(20);
    const events: PlayedEvent[] = [];
    playback.on('played', (e) => events.push(e));
    playback.enqueue(audio(100));
    clock.advance(200);
    const last = events[events.length - 1]!;
    expect(last.idle).to.equal(true);
    expect(last.playedMs).to.equal(100);
  });
});

describe('Playback marks on a steady stream', () => {
  it('marks every markEveryMs of audio and the tail of an utterance once, not every frame', () => {
    const { clock, sink, playback } = setup(160, true, { markEveryMs: 200 });
    // An echo: one 20 ms frame arrives every 20 ms for a second, then nothing.
    for (let i = 0; i < 50; i++) {
      playback.enqueue(audio(20, i));
      clock.advance(20);
    }
    expect(sink.marks.length).to.equal(5); // at 200, 400, 600, 800, 1000 ms
    clock.advance(100);
    expect(sink.marks.length).to.equal(5); // the last interval mark already covers the tail
    playback.enqueue(audio(30));
    clock.advance(200);
    expect(sink.marks.length).to.equal(6); // a lone tail gets its own mark after two frames
  });
});
