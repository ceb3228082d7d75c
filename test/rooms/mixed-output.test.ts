import { expect } from 'chai';
import type { AudioFrame } from '../../src/audio/frame.js';
import { mulawDecode } from '../../src/audio/mulaw.js';
import { ManualClock } from '../../src/clock.js';
import { MixedOutput } from '../../src/rooms/mixed-output.js';
import { Playback, type PlaybackSink } from '../../src/session/playback.js';
import type { PlayedEvent } from '../../src/session/types.js';
import { toneFrame, toneLevels } from '../support/tones.js';

/** The transport's side, as Twilio's: media and marks in the order they left, with the clock time. */
class Wire implements PlaybackSink {
  readonly items: ({ kind: 'audio'; at: number; pcm: Int16Array; startsRun: boolean } | { kind: 'mark'; at: number; name: string } | { kind: 'clear'; at: number })[] = [];
  constructor(private readonly clock: ManualClock) {}
  sendAudio(frame: AudioFrame, startsRun: boolean): void {
    const pcm = frame.encoding === 'mulaw' ? mulawDecode(frame.bytes) : frame.samples;
    for (let at = 0; at < pcm.length; at += 160) this.items.push({ kind: 'audio', at: this.clock.now(), pcm: pcm.slice(at, at + 160), startsRun: startsRun && at === 0 });
  }
  sendMark(name: string): void {
    this.items.push({ kind: 'mark', at: this.clock.now(), name });
  }
  clear(): void {
    this.items.push({ kind: 'clear', at: this.clock.now() });
  }
  audio() {
    return this.items.filter((i) => i.kind === 'audio');
  }
}

/** A transport without marks (WebRTC, WebSocket): Playback reports progress from its clock. */
class ClockWire extends Wire {}
Object.defineProperty(ClockWire.prototype, 'sendMark', { value: undefined });

/** A participant's playback redirected into a MixedOutput, and a room ticking every 20 ms with a 1 kHz voice. */
function setup(options: { aheadMs?: number; roomRate?: number; marks?: boolean } = {}) {
  const clock = new ManualClock(0);
  const wire = options.marks === false ? new ClockWire(clock) : new Wire(clock);
  const playback = new Playback(wire, { format: { encoding: 'mulaw', sampleRate: 8000 }, clock, leadMs: 160 });
  const roomRate = options.roomRate ?? 8000;
  const output = new MixedOutput(wire, { encoding: 'mulaw', sampleRate: 8000 }, roomRate, clock, options.aheadMs ?? 0);
  playback.redirect(output);
  let tick = 0;
  let roomVoice = true;
  const step = () => {
    output.deliver(roomVoice ? toneFrame(1000, roomRate, tick++, 6000) : undefined);
    clock.after(20, step);
  };
  clock.after(20, step);
  return { clock, wire, playback, output, silenceRoom: () => (roomVoice = false) };
}

function handlerAudio(ms: number): AudioFrame {
  const frames = ms / 20;
  const samples = new Int16Array(frames * 160);
  for (let i = 0; i < frames; i++) samples.set(toneFrame(400, 8000, i, 6000), i * 160);
  return { encoding: 'pcm16', sampleRate: 8000, samples };
}

describe('rooms: a participant\'s output, the handler\'s paced audio mixed with the room\'s', () => {
  it('sends one frame per room tick, never a burst: the handler\'s lead waits in the output, not at the far end', () => {
    const { clock, wire, playback, output } = setup();
    clock.advance(100);
    expect(wire.audio()).to.have.length(5);
    playback.enqueue(handlerAudio(1000));
    expect(output.queuedMs).to.equal(160);
    clock.advance(1000);
    const times = wire.audio().map((f) => f.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.equal(20);
  });

  it('plays the handler\'s audio when Playback says it plays, mixed with the room; progress stays the handler\'s own', () => {
    const { clock, wire, playback } = setup({ marks: false });
    clock.advance(40);
    const started = clock.now();
    const played: PlayedEvent[] = [];
    playback.on('played', (e) => played.push(e));
    playback.enqueue(handlerAudio(400));
    clock.advance(600);
    const during = wire.audio().filter((f) => f.at > started && f.at <= started + 400);
    expect(during.length).to.be.within(19, 21);
    for (const frame of during.slice(1, -1)) {
      const levels = toneLevels(frame.pcm, 8000, [400, 1000]);
      expect(levels[400], 'the handler').to.be.above(2000);
      expect(levels[1000], 'the room').to.be.above(2000);
    }
    const after = wire.audio().filter((f) => f.at > started + 440);
    expect(after.length).to.be.above(5);
    for (const frame of after) expect(toneLevels(frame.pcm, 8000, [400])[400]).to.be.below(100);
    // Idle once its 400 ms have played, though the room's audio goes on.
    expect(played.at(-1)).to.include({ idle: true, playedMs: 400 });
  });

  it('sends each mark after the frame it followed, and a mark on an empty queue at once', () => {
    const { clock, wire, playback, output } = setup();
    output.sendMark!('early');
    expect(wire.items.at(-1)).to.deep.include({ kind: 'mark', name: 'early' });
    playback.enqueue(handlerAudio(400));
    output.sendMark!('after-the-lead'); // Playback has handed 160 ms over so far
    clock.advance(600);
    const handlerFramesBefore = (name: string) => {
      const at = wire.items.findIndex((i) => i.kind === 'mark' && i.name === name);
      expect(at, name).to.be.above(-1);
      return wire.items.slice(0, at).filter((i) => i.kind === 'audio' && toneLevels(i.pcm, 8000, [400])[400]! > 1000).length;
    };
    expect(handlerFramesBefore('after-the-lead')).to.equal(8);
    // Playback's own marks: one every 200 ms of its audio, each after exactly that much of it.
    expect(handlerFramesBefore('0:1')).to.equal(10);
    expect(handlerFramesBefore('0:2')).to.equal(20);
  });

  it('interrupt() drops the handler\'s audio, not the room\'s: the far end clears, the room\'s next frame follows', () => {
    const { clock, wire, playback } = setup();
    playback.enqueue(handlerAudio(2000));
    clock.advance(500);
    const report = playback.interrupt();
    expect(report.playedMs).to.be.within(480, 520);
    expect(wire.items.at(-1)?.kind).to.equal('clear');
    const clearedAt = clock.now();
    clock.advance(200);
    const after = wire.audio().filter((f) => f.at > clearedAt);
    expect(after).to.have.length(10);
    for (const frame of after) {
      const levels = toneLevels(frame.pcm, 8000, [400, 1000]);
      expect(levels[400], 'no handler audio after the interrupt').to.be.below(100);
      expect(levels[1000], 'the room goes on').to.be.above(2000);
    }
  });

  it('waits for what the far end already held when the room took over, then sends live', () => {
    const { clock, wire, output } = setup({ aheadMs: 160 });
    clock.advance(140);
    expect(wire.audio()).to.have.length(0);
    expect(output.skipped).to.equal(7);
    clock.advance(100);
    expect(wire.audio().length).to.be.within(4, 6);
  });

  it('resamples the room to the transport (16 kHz room, μ-law phone)', () => {
    const { clock, wire } = setup({ roomRate: 16000 });
    clock.advance(400);
    const late = wire.audio().slice(5);
    for (const frame of late) expect(toneLevels(frame.pcm, 8000, [1000])[1000]).to.be.above(2000);
  });

  it('hands what the handler queued back to the transport when it leaves', () => {
    const { clock, wire, playback, output } = setup();
    playback.enqueue(handlerAudio(400));
    clock.advance(40);
    const before = wire.audio().length;
    output.detach();
    playback.redirect(wire);
    expect(wire.audio().length - before).to.equal(8); // the lead Playback keeps (160 ms), now at the far end again
  });
});
