import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { AudioFormat, AudioFrame } from '../../src/audio/frame.js';
import { mulawEncode } from '../../src/audio/mulaw.js';
import { ManualClock } from '../../src/clock.js';
import { CallstreamError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { AdditionalOutputs, CloseStream } from '../../src/session/emit.js';
import type { AudioHandler, SessionContext, StreamHandler } from '../../src/session/handler.js';
import { type CallControl, Session, type SessionInit, type TransportLink } from '../../src/session/session.js';
import type { SessionObserver } from '../../src/session/observer.js';
import type { ClientMessage, EndReason, StopInfo } from '../../src/session/types.js';
import { dtmfTones } from '../../src/audio/dtmf.js';
import type { VideoFrame } from '../../src/video/frame.js';
import { expectRejection } from '../support/assert.js';

const MULAW_8K: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };

/** A transport that records everything the session gives it. */
class FakeLink implements TransportLink {
  readonly kind = 'websocket' as const;
  readonly format = MULAW_8K;
  readonly audio: { bytes: Uint8Array; startsRun: boolean }[] = [];
  readonly messages: ClientMessage[] = [];
  readonly closes: { reason: EndReason; message: string }[] = [];
  readonly videos: VideoFrame[] = [];
  clears = 0;
  hasClient?: boolean;
  control?: CallControl;
  stats?: () => Record<string, number>;

  sendAudio(frame: AudioFrame, startsRun: boolean): void {
    if (frame.encoding !== 'mulaw') throw new Error('the link carries μ-law');
    this.audio.push({ bytes: frame.bytes.slice(), startsRun });
  }
  clear(): void {
    this.clears++;
  }
  sendVideo(frame: VideoFrame): void {
    this.videos.push(frame);
  }
  sendMessage(message: ClientMessage): void {
    this.messages.push(message);
  }
  close(reason: EndReason, message: string): void {
    this.closes.push({ reason, message });
  }
  sentBytes(): Buffer {
    return Buffer.concat(this.audio.map((a) => a.bytes));
  }
}

/** A handler that hears what the session delivers and does nothing else. */
function listener(heard: AudioFrame[] = []): StreamHandler {
  return { inputFormat: 'native', receive: (frame) => void heard.push(frame) };
}

/** μ-law bytes of `ms` milliseconds, each 20 ms frame filled with its own value from `first`. */
function mulaw(ms: number, first = 1): AudioFrame {
  const bytes = new Uint8Array(ms * 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = first + Math.floor(i / 160);
  return { encoding: 'mulaw', sampleRate: 8000, bytes };
}

/** A promise with its resolve and reject outside. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the handler runner's promise steps run (startUp, receive, the emit loop). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(handler: AudioHandler = listener(), init: Partial<SessionInit> = {}) {
  const clock = new ManualClock(1000);
  const link = new FakeLink();
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let released = 0;
  const session = new Session({
    link,
    handler,
    facts: { customParameters: {} },
    mode: 'send-receive',
    clock,
    logger: createLogger({ level: 'info', destination }),
    place: { release: () => void released++ },
    leadMs: 20,
    markEveryMs: 200,
    maxQueuedMs: 10_000,
    inboundBacklog: 10,
    aheadMs: 200,
    ...init,
  });
  const stops: StopInfo[] = [];
  session.on('stop', (info) => stops.push(info));
  return { session, link, clock, lines, stops, released: () => released };
}

describe('Session on its own (a fake transport, a manual clock)', () => {
  describe('lifecycle', () => {
    it('goes new → live → closed, once each way', async () => {
      const { session, link, clock, stops, released } = setup();
      let starts = 0;
      session.on('start', () => starts++);
      expect([session.isLive, session.isClosed]).to.deep.equal([false, false]);
      session.start();
      session.start();
      expect(starts).to.equal(1);
      expect(session.startedAt).to.equal(1000);
      expect([session.isLive, session.isClosed]).to.deep.equal([true, false]);
      clock.advance(1500);
      session.end('remote_stop', 'The caller hung up.');
      expect([session.isLive, session.isClosed]).to.deep.equal([false, true]);
      const info = { reason: 'remote_stop', message: 'The caller hung up.', durationMs: 1500 };
      expect(stops).to.deep.equal([info]);
      expect(await session.ended).to.deep.equal(info);
      expect(link.closes).to.deep.equal([{ reason: 'remote_stop', message: 'The caller hung up.' }]);
      expect(released()).to.equal(1);
      // Only the time limit and a shutdown warn the client with end_stream.
      expect(link.messages).to.deep.equal([]);
      const abort = session.context.signal.reason as CallstreamError;
      expect(session.context.signal.aborted).to.equal(true);
      expect(abort.code).to.equal('SESSION_CLOSED');
      expect(abort.message).to.equal('Session ended: The caller hung up.');
      session.start();
      expect(session.isClosed, 'a closed session does not start again').to.equal(true);
      expect(starts).to.equal(1);
    });

    it('end() is idempotent: one stop, one close, one release, from any state', () => {
      const { session, link, stops, released } = setup();
      session.end('remote_closed');
      session.end('hangup', 'again');
      session.start();
      session.end('server_shutdown');
      expect(stops).to.deep.equal([{ reason: 'remote_closed', message: 'remote_closed', durationMs: 0 }]);
      expect(link.closes).to.have.length(1);
      expect(released()).to.equal(1);
    });

    it('tells the client why at the time limit and at a shutdown (end_stream)', () => {
      const { session, link } = setup();
      session.start();
      session.end('server_shutdown', 'The server is going away.');
      expect(link.messages).to.deep.equal([{ type: 'end_stream', data: 'The server is going away.' }]);
    });

    it('ends a session not started within its connect deadline (connect_timeout)', async () => {
      const { session, link, clock, released } = setup(listener(), { connectTimeoutMs: 500 });
      clock.advance(499);
      expect(session.isClosed).to.equal(false);
      clock.advance(1);
      expect(session.isClosed).to.equal(true);
      expect(await session.ended).to.deep.equal({ reason: 'connect_timeout', message: 'Not connected within 500 ms.', durationMs: 0 });
      expect(link.closes).to.deep.equal([{ reason: 'connect_timeout', message: 'Not connected within 500 ms.' }]);
      expect(released()).to.equal(1);
    });

    it('cancels the connect deadline once started', () => {
      const { session, clock, stops } = setup(listener(), { connectTimeoutMs: 500 });
      clock.advance(300);
      session.start();
      clock.advance(10_000);
      expect(session.isLive).to.equal(true);
      expect(stops).to.deep.equal([]);
      session.end('remote_stop');
      expect(clock.pending(), 'no timer left behind').to.equal(0);
    });

    it('ends at its time limit, counted from the start, and says so', async () => {
      const { session, link, clock } = setup(listener(), { timeLimitMs: 1000 });
      clock.advance(250); // time before the start does not count
      session.start();
      clock.advance(999);
      expect(session.isLive).to.equal(true);
      clock.advance(1);
      const message = 'The session reached its time limit of 1 s.';
      expect(await session.ended).to.deep.equal({ reason: 'time_limit', message, durationMs: 1000 });
      expect(link.messages).to.deep.equal([{ type: 'end_stream', data: message }]);
      expect(link.closes).to.deep.equal([{ reason: 'time_limit', message }]);
    });

    it('cancels the time limit when the session ends first', () => {
      const { session, clock, stops } = setup(listener(), { timeLimitMs: 1000 });
      session.start();
      session.end('remote_stop');
      clock.advance(5000);
      expect(stops.map((s) => s.reason)).to.deep.equal(['remote_stop']);
      expect(clock.pending()).to.equal(0);
    });
  });

  describe('onEnd cleanups', () => {
    it('run in the order registered, once, before stop; one that throws is logged and the rest still run', () => {
      const { session, lines } = setup();
      const order: string[] = [];
      session.onEnd((info) => order.push(`first:${info.reason}`));
      session.onEnd(() => {
        order.push('second');
        throw new Error('cleanup broke');
      });
      session.onEnd(() => order.push('third'));
      session.on('stop', () => order.push('stop'));
      session.start();
      session.end('hangup');
      session.end('hangup');
      expect(order).to.deep.equal(['first:hangup', 'second', 'third', 'stop']);
      const failed = lines.filter((l) => l.msg === 'a cleanup at session end failed');
      expect(failed).to.have.length(1);
      expect((failed[0]!.err as { message: string }).message).to.equal('cleanup broke');
    });

    it('run on the next tick when registered after the end, with the stop info', async () => {
      const { session } = setup();
      session.end('remote_closed', 'gone');
      let seen: StopInfo | undefined;
      session.onEnd((info) => (seen = info));
      expect(seen, 'not synchronously').to.equal(undefined);
      await session.ended;
      await Promise.resolve();
      expect(seen).to.deep.equal({ reason: 'remote_closed', message: 'gone', durationMs: 0 });
    });
  });

  describe('inputs', () => {
    it('starts from the given values and merges updates, telling listeners', () => {
      const { session } = setup(listener(), { inputs: { name: 'Ada', voice: 'alto' } });
      const seen: unknown[] = [];
      session.on('inputs', (values) => seen.push(values));
      expect(session.inputs).to.deep.equal({ name: 'Ada', voice: 'alto' });
      session.setInputs({ voice: 'bass' });
      expect(session.inputs).to.deep.equal({ name: 'Ada', voice: 'bass' });
      expect(session.context.inputs).to.deep.equal({ name: 'Ada', voice: 'bass' });
      expect(seen).to.deep.equal([{ name: 'Ada', voice: 'bass' }]);
    });

    it('waitForInputs asks the client (send_input) and resolves with the next values', async () => {
      const { session, link } = setup(listener(), { inputs: { name: '' } });
      session.start();
      let resolved: unknown;
      const waiting = session.context.waitForInputs().then((v) => (resolved = v));
      expect(link.messages).to.deep.equal([{ type: 'send_input', data: [] }]);
      await Promise.resolve();
      expect(resolved).to.equal(undefined);
      session.setInputs({ name: 'Grace' });
      await waiting;
      expect(resolved).to.deep.equal({ name: 'Grace' });
    });

    it('waitForInputs resolves at once where no client can answer, and when the session ends', async () => {
      const phone = setup(listener(), { inputs: { n: 1 } });
      phone.link.hasClient = false;
      expect(await phone.session.waitForInputs()).to.deep.equal({ n: 1 });
      expect(phone.link.messages).to.deep.equal([]);

      const { session } = setup(listener(), { inputs: { n: 2 } });
      session.start();
      const waiting = session.waitForInputs();
      session.end('remote_closed');
      expect(await waiting).to.deep.equal({ n: 2 });
      expect(await session.waitForInputs()).to.deep.equal({ n: 2 });
    });
  });

  describe('send()', () => {
    it('queues audio in any format, converted for the transport and paced', () => {
      const { session, link, clock } = setup();
      session.start();
      const samples = new Int16Array(320).map((_, i) => (i % 40) * 500 - 10_000);
      session.send({ encoding: 'pcm16', sampleRate: 8000, samples }); // 40 ms
      expect(link.audio, 'the first frame at once (20 ms lead)').to.have.length(1);
      expect(link.audio[0]!.startsRun).to.equal(true);
      clock.advance(20);
      expect(link.sentBytes().equals(Buffer.from(mulawEncode(samples)))).to.equal(true);
      expect(link.audio[1]!.startsRun).to.equal(false);
    });

    it('sends nothing in mode "send", and nothing before the start or after the end', () => {
      const quiet = setup(listener(), { mode: 'send' });
      quiet.session.start();
      quiet.session.send(mulaw(40));
      quiet.clock.advance(100);
      expect(quiet.link.audio).to.deep.equal([]);

      const { session, link, clock } = setup();
      session.send(mulaw(40));
      session.start();
      session.end('remote_stop');
      session.send(mulaw(40));
      clock.advance(100);
      expect(link.audio).to.deep.equal([]);
    });

    it('emits AdditionalOutputs as an output event', () => {
      const { session } = setup();
      const outputs: unknown[][] = [];
      session.on('output', (o) => outputs.push([...o.args]));
      session.start();
      session.send(new AdditionalOutputs('hello', { n: 1 }));
      expect(outputs).to.deep.equal([['hello', { n: 1 }]]);
    });

    it('a CloseStream ends the session once the queued audio has played (handler_closed)', async () => {
      const { session, link, clock } = setup();
      session.start();
      session.send(mulaw(100));
      session.send(new CloseStream('Goodbye.'));
      expect(link.messages).to.deep.equal([{ type: 'end_stream', data: 'Goodbye.' }]);
      expect(session.isClosed, 'not before the audio has played').to.equal(false);
      clock.advance(100);
      const info = await session.ended;
      expect(info).to.deep.equal({ reason: 'handler_closed', message: 'Goodbye.', durationMs: 100 });
      expect(link.sentBytes().equals(Buffer.from((mulaw(100) as { bytes: Uint8Array }).bytes))).to.equal(true);
    });

    it('anything else fails the session as a handler error, told to the client', async () => {
      const { session, link } = setup();
      const errors: CallstreamError[] = [];
      session.on('error', (e) => errors.push(e));
      session.start();
      session.send('not audio' as never);
      const info = await session.ended;
      expect(info.reason).to.equal('handler_error');
      expect(errors).to.have.length(1);
      expect(errors[0]!.code).to.equal('HANDLER_ERROR');
      expect(errors[0]!.cause, 'the original error kept as the cause').to.be.instanceOf(TypeError);
      expect(errors[0]!.message).to.match(/^The handler failed in emit\(\): .*not audio, AdditionalOutputs or CloseStream/);
      expect(link.messages).to.deep.equal([{ type: 'error', message: errors[0]!.message }]);
      expect(link.closes).to.deep.equal([{ reason: 'handler_error', message: errors[0]!.message }]);
    });
  });

  describe('inbound audio', () => {
    it('delivers frames to the handler in order once live, counting them', async () => {
      const heard: AudioFrame[] = [];
      const { session } = setup(listener(heard));
      session.receiveAudio(mulaw(20, 9)); // before the start: not a frame of the call
      session.start();
      for (let i = 0; i < 5; i++) session.receiveAudio(mulaw(20, 10 + i));
      await settle();
      expect(session.framesIn).to.equal(5);
      expect(heard.map((f) => (f as { bytes: Uint8Array }).bytes[0])).to.deep.equal([10, 11, 12, 13, 14]);
    });

    it('converts to the format the handler asked for', async () => {
      const heard: AudioFrame[] = [];
      const { session } = setup({ inputFormat: { encoding: 'pcm16', sampleRate: 8000 }, receive: (f) => void heard.push(f) });
      expect(session.inputFormat).to.deep.equal({ encoding: 'pcm16', sampleRate: 8000 });
      session.start();
      session.receiveAudio({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(160).fill(0xff) });
      await settle();
      expect(heard).to.have.length(1);
      expect(heard[0]!.encoding).to.equal('pcm16');
      expect(Array.from((heard[0] as { samples: Int16Array }).samples.slice(0, 3))).to.deep.equal([0, 0, 0]);
    });

    it('in mode "receive" counts and records inbound audio but gives the handler nothing', async () => {
      const heard: AudioFrame[] = [];
      const { session } = setup(listener(heard), { mode: 'receive' });
      const inbound: AudioFrame[] = [];
      session.on('inbound', (f) => inbound.push(f));
      session.start();
      session.receiveAudio(mulaw(20));
      await settle();
      expect(session.framesIn).to.equal(1);
      expect(inbound).to.have.length(1);
      expect(heard).to.deep.equal([]);
    });

    it('a handler that throws in receive ends the session (handler_error), once', async () => {
      const { session, stops } = setup({ inputFormat: 'native', receive: () => { throw new Error('boom'); } });
      session.start();
      await settle();
      session.receiveAudio(mulaw(20));
      session.receiveAudio(mulaw(20));
      await settle();
      expect(stops.map((s) => s.reason)).to.deep.equal(['handler_error']);
      expect(stops[0]!.message).to.equal('The handler failed in receive(): boom');
    });
  });

  describe('interrupt', () => {
    it('drops queued audio, tells the transport to clear, and reports what was played', () => {
      const { session, link, clock } = setup();
      session.start();
      session.send(mulaw(1000));
      clock.advance(200);
      const sentBefore = link.sentBytes().length;
      const report = session.interrupt();
      expect(report).to.deep.equal({ playedMs: 200, confirmedMs: 200, unplayedMs: 800, basis: 'clock' });
      expect(link.clears).to.equal(1);
      expect(session.queuedMs).to.equal(0);
      clock.advance(1000);
      expect(link.sentBytes().length, 'nothing sent after the interrupt').to.equal(sentBefore);
    });
  });

  describe('messages, call control and events', () => {
    it('sends messages until closed, and emits them', () => {
      const { session, link } = setup();
      const emitted: ClientMessage[] = [];
      session.on('message', (m) => emitted.push(m));
      session.sendMessage({ type: 'log', data: 'one' });
      session.end('remote_stop');
      session.sendMessage({ type: 'log', data: 'two' });
      expect(link.messages).to.deep.equal([{ type: 'log', data: 'one' }]);
      expect(emitted).to.deep.equal([{ type: 'log', data: 'one' }]);
    });

    it('hangUp() asks the call control, then ends (hangup), even when the control fails', async () => {
      const calls: string[] = [];
      const ok = setup();
      ok.link.control = { hangUp: async () => void calls.push('hangUp'), transfer: async () => {} };
      ok.session.start();
      await ok.session.context.hangUp();
      expect(calls).to.deep.equal(['hangUp']);
      expect(await ok.session.ended).to.deep.include({ reason: 'hangup', message: 'The handler hung up.' });

      const failing = setup();
      failing.link.control = { hangUp: () => Promise.reject(new Error('REST down')), transfer: async () => {} };
      failing.session.start();
      await failing.session.hangUp();
      expect((await failing.session.ended).reason).to.equal('hangup');
      expect(failing.lines.some((l) => l.msg === 'hang-up over REST failed: closing the stream instead')).to.equal(true);
    });

    it('transfer() moves the call through its control and ends; without one it refuses (UNSUPPORTED)', async () => {
      const targets: string[] = [];
      const phone = setup();
      phone.link.control = { hangUp: async () => {}, transfer: async (t) => void targets.push(t) };
      phone.session.start();
      await phone.session.transfer('+15550001111');
      expect(targets).to.deep.equal(['+15550001111']);
      expect(await phone.session.ended).to.deep.include({ reason: 'hangup', message: 'Transferred to +15550001111.' });

      const { session } = setup();
      session.start();
      const error = await expectRejection(session.transfer('+15550001111'), /cannot be transferred/);
      expect((error as CallstreamError).code).to.equal('UNSUPPORTED');
      expect(session.isLive).to.equal(true);
    });

    it('tells the handler about the call until the session is closed', () => {
      const { session } = setup();
      const statuses: string[] = [];
      session.on('callStatus', (e) => statuses.push(e.status));
      session.tell('callStatus', { status: 'ringing', params: {} });
      session.end('remote_stop');
      session.tell('callStatus', { status: 'completed', params: {} });
      expect(statuses).to.deep.equal(['ringing']);
    });

    it('DTMF reaches listeners and the handler only while live', async () => {
      const digits: string[] = [];
      const handled: string[] = [];
      const { session } = setup({ inputFormat: 'native', onDtmf: (d: string) => void handled.push(d) });
      session.on('dtmf', (d) => digits.push(d));
      session.receiveDtmf('1');
      session.start();
      await settle();
      session.receiveDtmf('2');
      session.end('remote_stop');
      session.receiveDtmf('3');
      expect(digits).to.deep.equal(['2']);
      expect(handled).to.deep.equal(['2']);
    });

    it('gives the handler its context: the same id, transport and facts, and a way to close', async () => {
      let seen: SessionContext | undefined;
      const { session, clock } = setup({ inputFormat: 'native', startUp: (ctx) => void (seen = ctx) }, { id: 'fixed-id', facts: { customParameters: { a: 'b' } } });
      session.start();
      await settle();
      expect(seen!.id).to.equal('fixed-id');
      expect(seen!.transport).to.equal('websocket');
      expect(seen!.facts.customParameters).to.deep.equal({ a: 'b' });
      seen!.close('Done.');
      clock.advance(0);
      expect(await session.ended).to.deep.include({ reason: 'handler_closed', message: 'Done.' });
    });
  });
  describe('events for recordings and metrics', () => {
    it('emits inbound, converted and outbound audio (with its play time), and drops those listeners at the end', async () => {
      const { session, clock } = setup({ inputFormat: { encoding: 'pcm16', sampleRate: 8000 }, receive: () => {} });
      const inbound: AudioFrame[] = [];
      const converted: AudioFrame[] = [];
      const outbound: [AudioFrame, number][] = [];
      session.on('inbound', (f) => inbound.push(f));
      session.on('audio', (f) => converted.push(f));
      session.on('outbound', (f, at) => outbound.push([f, at]));
      session.start();
      session.receiveAudio(mulaw(20));
      expect(inbound.map((f) => f.encoding)).to.deep.equal(['mulaw']);
      expect(converted.map((f) => f.encoding)).to.deep.equal(['pcm16']);
      session.send(mulaw(40));
      clock.advance(20);
      expect(outbound.map(([f, at]) => [(f as { bytes: Uint8Array }).bytes[0], at])).to.deep.equal([[1, 1000], [2, 1020]]);
      session.end('remote_stop');
      expect(['inbound', 'audio', 'outbound'].map((e) => session.listenerCount(e as 'audio'))).to.deep.equal([0, 0, 0]);
    });

    it('reports frames in and out, handler time, outbound drops and lateness to its observer', async () => {
      const seen: string[] = [];
      const observer: SessionObserver = {
        frameIn: () => void seen.push('in'),
        handled: (ms) => void seen.push(`handled:${ms >= 0}`),
        framesOut: (n) => void seen.push(`out:${n}`),
        dropped: (direction, n) => void seen.push(`dropped:${direction}:${n}`),
        lateness: (ms) => void seen.push(`late:${ms}`),
      };
      const { session, clock } = setup(listener(), { observer, maxQueuedMs: 100 });
      session.start();
      await settle();
      session.receiveAudio(mulaw(20));
      expect(seen).to.deep.equal(['in', 'handled:true']);
      seen.length = 0;
      session.send(mulaw(60)); // one frame out at once, two queued
      session.send(mulaw(200)); // beyond maxQueuedMs: dropped, counted in 20 ms frames
      expect(seen).to.deep.equal(['out:1', 'dropped:outbound:10']);
      expect(session.droppedOutboundMs).to.equal(200);
      seen.length = 0;
      clock.stall(50); // the next frame was due at 20 ms: its timer fires 30 ms late
      clock.advance(0);
      expect(seen).to.deep.equal(['late:30', 'out:2']);
    });
  });

  describe('generators and emit() through the session', () => {
    it('paces a generator handler by the queue: it runs no more than aheadMs ahead of playback', async () => {
      let produced = 0;
      const speaker = async function* () {
        for (let n = 1; n <= 20; n++) {
          produced++;
          yield mulaw(20, n);
        }
      };
      const { session, link, clock } = setup(speaker, { aheadMs: 40 });
      session.start();
      await settle();
      expect(produced, 'the lead plus aheadMs, and the one waiting for room').to.be.within(3, 5);
      for (let t = 0; t < 20; t++) {
        clock.advance(20);
        await settle();
      }
      await settle();
      clock.advance(100);
      expect(produced).to.equal(20);
      expect(link.audio.map((a) => a.bytes[0])).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('an emit() with nothing to say is asked again after a frame time on the session clock', async () => {
      let calls = 0;
      const { session, clock } = setup({ inputFormat: 'native', emit: () => void calls++ });
      session.start();
      await settle();
      expect(calls).to.equal(1);
      clock.advance(19);
      await settle();
      expect(calls).to.equal(1);
      clock.advance(1);
      await settle();
      expect(calls).to.equal(2);
      session.end('remote_stop');
    });
  });

  describe('the handler\'s context', () => {
    it('plays items, reads inbound audio, sends messages and digits, and reports the queue', async () => {
      let ctx: SessionContext | undefined;
      const { session, link, clock } = setup(listener(), { aheadMs: 40 });
      session.start();
      ctx = session.context;
      const played = ctx.play([mulaw(20, 1), mulaw(20, 2)]);
      await played;
      expect(link.audio.map((a) => a.bytes[0])).to.deep.equal([1]);
      expect(ctx.queuedMs).to.equal(20);
      let roomy = false;
      const room = ctx.room().then(() => (roomy = true));
      await settle();
      expect(roomy, 'already no more than aheadMs queued').to.equal(true);
      await room;

      const frames = ctx.audio()[Symbol.asyncIterator]();
      session.receiveAudio(mulaw(20, 7));
      expect(((await frames.next()).value as { bytes: Uint8Array }).bytes[0]).to.equal(7);

      ctx.sendMessage({ type: 'log', data: 'hi' });
      expect(link.messages).to.deep.equal([{ type: 'log', data: 'hi' }]);

      clock.advance(100);
      const before = link.sentBytes().length;
      const ms = ctx.sendDigits('1');
      const tones = dtmfTones('1', 8000);
      expect(ms).to.equal((tones.length * 1000) / 8000);
      clock.advance(ms + 100);
      expect(link.sentBytes().subarray(before).equals(Buffer.from(mulawEncode(tones)))).to.equal(true);
    });

    it('on() and off() add and remove the handler\'s listeners', () => {
      const { session } = setup();
      const digits: string[] = [];
      const listen = (d: string) => void digits.push(d);
      session.start();
      session.context.on('dtmf', listen);
      session.receiveDtmf('1');
      session.context.off('dtmf', listen);
      session.receiveDtmf('2');
      expect(digits).to.deep.equal(['1']);
    });

    it('transfers through ctx.transfer, and close() without a message says the handler ended it', async () => {
      const targets: string[] = [];
      const phone = setup();
      phone.link.control = { hangUp: async () => {}, transfer: async (t) => void targets.push(t) };
      phone.session.start();
      await phone.session.context.transfer('sip:desk@example.test');
      expect(targets).to.deep.equal(['sip:desk@example.test']);

      const { session } = setup();
      session.start();
      session.context.close();
      expect(await session.ended).to.deep.include({ reason: 'handler_closed', message: 'The handler ended the stream.' });
    });
  });

  describe('video', () => {
    const picture = (n: number): VideoFrame => ({ width: 2, height: 2, format: 'i420', data: new Uint8Array(6).fill(n), timestamp: n });

    function videoSetup(init: Partial<SessionInit> = {}) {
      const seen: number[] = [];
      const handler: StreamHandler = {
        inputFormat: 'native',
        videoReceive: (frame) => void seen.push(frame.timestamp),
        videoEmit: () => picture(seen.at(-1)! + 100),
      };
      return { seen, ...setup(handler, init) };
    }

    it('gives camera frames to a video handler only while live, and sends what it returns', async () => {
      const { session, link, seen } = videoSetup();
      session.receiveVideo(picture(1));
      session.start();
      session.receiveVideo(picture(2));
      await settle();
      expect(seen).to.deep.equal([2]);
      expect(link.videos.map((f) => f.timestamp)).to.deep.equal([102]);
      expect(session.videoStats).to.deep.equal({ received: 1, processed: 1, dropped: 0, handlerMs: 0 });
      session.end('remote_stop');
      session.receiveVideo(picture(3));
      await settle();
      expect(seen).to.deep.equal([2]);
    });

    it('in mode "receive" hears no camera; in mode "send" sends no video back', async () => {
      const receiving = videoSetup({ mode: 'receive' });
      receiving.session.start();
      receiving.session.receiveVideo(picture(1));
      await settle();
      expect(receiving.seen).to.deep.equal([]);

      const sending = videoSetup({ mode: 'send' });
      sending.session.start();
      sending.session.receiveVideo(picture(1));
      await settle();
      expect(sending.seen).to.deep.equal([1]);
      expect(sending.link.videos).to.deep.equal([]);
    });

    it('runs a handler with only videoReceive; its outputs and failures reach the session', async () => {
      const seen: number[] = [];
      const { session } = setup({ inputFormat: 'native', videoReceive: (frame) => void seen.push(frame.timestamp) });
      session.start();
      session.receiveVideo(picture(1));
      await settle();
      expect(seen).to.deep.equal([1]);

      const talker = setup({ inputFormat: 'native', videoReceive: () => {}, videoEmit: () => new AdditionalOutputs('a face') });
      const outputs: unknown[] = [];
      talker.session.on('output', (o) => outputs.push(o.args[0]));
      talker.session.start();
      talker.session.receiveVideo(picture(1));
      await settle();
      expect(outputs).to.deep.equal(['a face']);

      const broken = setup({ inputFormat: 'native', videoReceive: () => { throw new Error('bad pixels'); } });
      broken.session.start();
      broken.session.receiveVideo(picture(1));
      expect(await broken.session.ended).to.deep.include({ reason: 'handler_error', message: 'The handler failed in video(): bad pixels' });
    });

    it('has no video runner, and no video stats, for an audio handler or a session function', async () => {
      for (const handler of [listener(), (() => {}) as AudioHandler]) {
        const { session } = setup(handler);
        session.start();
        session.receiveVideo(picture(1));
        expect(session.videoStats).to.equal(undefined);
      }
    });
  });

  describe('edges', () => {
    it('starts with outputs on their own feed, and shows the transport\'s counters', () => {
      const { session, link } = setup();
      expect(session.inlineOutputs).to.equal(false);
      expect(session.transportStats()).to.deep.equal({});
      link.stats = () => ({ packetsSent: 3 });
      expect(session.transportStats()).to.deep.equal({ packetsSent: 3 });
    });

    it('a stop listener that throws is logged; the end still completes', async () => {
      const { session, lines, link } = setup();
      session.on('stop', () => {
        throw new Error('listener broke');
      });
      session.start();
      session.end('remote_stop');
      expect((await session.ended).reason).to.equal('remote_stop');
      expect(link.closes).to.have.length(1);
      const warned = lines.filter((l) => l.msg === 'a stop listener threw');
      expect((warned[0]!.err as { message: string }).message).to.equal('listener broke');
    });

    it('a handler failing after the end changes nothing', async () => {
      const late = deferred();
      const { session, link } = setup({ inputFormat: 'native', receive: () => late.promise });
      const errors: unknown[] = [];
      session.on('error', (e) => errors.push(e));
      session.start();
      await settle();
      session.receiveAudio(mulaw(20));
      session.end('remote_stop');
      late.reject(new Error('too late'));
      await settle();
      expect(errors).to.deep.equal([]);
      expect(link.messages).to.deep.equal([]);
      expect((await session.ended).reason).to.equal('remote_stop');
    });

    it('hangUp() after the end does not touch the call; close() only acts once, and only when live', async () => {
      const calls: string[] = [];
      const { session, link } = setup();
      link.control = { hangUp: async () => void calls.push('hangUp'), transfer: async () => {} };
      void session.close('too early');
      expect(link.messages).to.deep.equal([]);
      session.start();
      void session.close('Bye.');
      void session.close('Bye again.');
      expect(link.messages).to.deep.equal([{ type: 'end_stream', data: 'Bye.' }]);
      await session.ended;
      await session.hangUp();
      expect(calls).to.deep.equal([]);
    });

    it('ends cleanly without a place to give back', async () => {
      const { session } = setup(listener(), { place: undefined });
      session.start();
      session.end('remote_stop');
      expect((await session.ended).reason).to.equal('remote_stop');
    });

    it('keeps answering input waits after the first update', async () => {
      const { session } = setup(listener(), { inputs: { n: 0 } });
      session.start();
      const first = session.waitForInputs();
      session.setInputs({ n: 1 });
      expect(await first).to.deep.equal({ n: 1 });
      expect(() => session.setInputs({ n: 2 })).to.not.throw();
      const second = session.waitForInputs();
      session.setInputs({ n: 3 });
      expect(await second).to.deep.equal({ n: 3 });
    });
  });
});
