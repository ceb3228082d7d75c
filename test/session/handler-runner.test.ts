import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { AudioFrame } from '../../src/audio/frame.js';
import { createLogger } from '../../src/logger.js';
import { AdditionalOutputs, type EmitItem } from '../../src/session/emit.js';
import type { AudioHandler, SessionContext, SessionFunction, StreamHandler } from '../../src/session/handler.js';
import { HandlerRunner, type RunnerHooks } from '../../src/session/handler-runner.js';

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise with its resolve and reject outside. */
function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Lets pending promise steps run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Frame `n`: 20 ms of μ-law whose first byte is n (to trace it). */
function frame(n: number): AudioFrame {
  return { encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(160).fill(n) };
}

const id = (f: EmitItem) => (f as { bytes: Uint8Array }).bytes[0]!;

/** The session's side, recorded; `room()` and `idleWait()` open only when the test says. */
class FakeHooks implements RunnerHooks {
  readonly sent: EmitItem[] = [];
  readonly failures: { error: unknown; during: string }[] = [];
  readonly timings: number[] = [];
  roomGate: Deferred | undefined;
  roomCalls = 0;
  idleCalls = 0;
  private idleGate = deferred();
  handled = (ms: number) => void this.timings.push(ms);

  send(item: EmitItem): void {
    this.sent.push(item);
  }
  fail(error: unknown, during: string): void {
    this.failures.push({ error, during });
  }
  room(): Promise<void> {
    this.roomCalls++;
    return this.roomGate?.promise ?? Promise.resolve();
  }
  idleWait(): Promise<void> {
    this.idleCalls++;
    return this.idleGate.promise;
  }
  /** Lets one idle wait end (one frame time passing). */
  passFrameTime(): void {
    this.idleGate.resolve();
    this.idleGate = deferred();
  }
  /** Closes the room: sends wait until `openRoom()`. */
  closeRoom(): void {
    this.roomGate = deferred();
  }
  openRoom(): void {
    const gate = this.roomGate;
    this.roomGate = undefined;
    gate?.resolve();
  }
}

function setup(handler: AudioHandler, backlog = 10) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const ctx = { log: createLogger({ level: 'info', destination }) } as unknown as SessionContext;
  const hooks = new FakeHooks();
  const runner = new HandlerRunner(handler, ctx, hooks, backlog);
  return { runner, hooks, ctx, lines };
}

/** A receive() that records frames and, while `busy` is set, holds each one until it is released. */
function recorder() {
  const heard: number[] = [];
  let busy: Deferred | undefined;
  const handler: StreamHandler = {
    receive: (f) => {
      heard.push(id(f));
      return busy?.promise;
    },
  };
  return {
    heard,
    handler,
    hold: () => void (busy = deferred()),
    release: () => {
      const b = busy;
      busy = undefined;
      b?.resolve();
    },
  };
}

describe('HandlerRunner on its own (fake hooks)', () => {
  describe('receive()', () => {
    it('holds frames until startUp has finished, then delivers them in order; later ones at once', async () => {
      const startUp = deferred();
      const heard: number[] = [];
      const { runner } = setup({ startUp: () => startUp.promise, receive: (f) => void heard.push(id(f)) });
      const started = runner.start();
      for (let n = 1; n <= 3; n++) runner.deliver(frame(n));
      await settle();
      expect(heard).to.deep.equal([]);
      startUp.resolve();
      await started;
      expect(heard).to.deep.equal([1, 2, 3]);
      runner.deliver(frame(4));
      expect(heard, 'synchronously when idle').to.deep.equal([1, 2, 3, 4]);
    });

    it('while an async receive is busy, later frames wait and follow in order', async () => {
      const { heard, handler, hold, release } = recorder();
      const { runner, hooks } = setup(handler);
      await runner.start();
      hold();
      runner.deliver(frame(1));
      runner.deliver(frame(2));
      runner.deliver(frame(3));
      expect(heard).to.deep.equal([1]);
      release(); // frame 1 done: 2 is taken (not held), then 3
      await settle();
      expect(heard).to.deep.equal([1, 2, 3]);
      expect(runner.droppedFrames).to.equal(0);
      expect(hooks.timings, 'each receive timed once it settled').to.have.length(3);
    });

    it('never gives receive() a frame while the previous one is still in progress', async () => {
      const heard: number[] = [];
      const pending: Deferred[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const { runner, hooks } = setup({
        receive: (f) => {
          heard.push(id(f));
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          const done = deferred();
          pending.push(done);
          return done.promise.then(() => void inFlight--);
        },
      });
      await runner.start();
      for (let n = 1; n <= 3; n++) runner.deliver(frame(n));
      for (let n = 1; n <= 3; n++) {
        expect(heard).to.have.length(n);
        await sleep(n === 1 ? 30 : 0);
        pending[n - 1]!.resolve();
        await settle();
      }
      expect(heard).to.deep.equal([1, 2, 3]);
      expect(maxInFlight).to.equal(1);
      // Each receive is timed from its call until it settled: the first took the 30 ms it was held.
      expect(hooks.timings[0]).to.be.within(25, 1000);
    });

    it('needs no handled hook', async () => {
      const { handler, hold, release } = recorder();
      const hooks = new FakeHooks();
      const runner = new HandlerRunner(handler, setup(handler).ctx, { send: hooks.send.bind(hooks), fail: hooks.fail.bind(hooks), room: hooks.room.bind(hooks), idleWait: hooks.idleWait.bind(hooks) }, 10);
      await runner.start();
      runner.deliver(frame(1)); // synchronous
      hold();
      runner.deliver(frame(2)); // asynchronous
      release();
      await settle();
      expect(hooks.failures).to.deep.equal([]);
    });

    it('drops the oldest frames beyond the backlog, counts them, and warns at 1, 50, then each doubling', async () => {
      const { heard, handler, hold, release } = recorder();
      const { runner, lines } = setup(handler, 3);
      await runner.start();
      hold();
      for (let n = 1; n <= 7; n++) runner.deliver(frame(n)); // 1 at the handler; 2..7 for a backlog of 3
      expect(runner.droppedFrames).to.equal(3);
      release();
      await settle();
      expect(heard, 'the newest three kept, in order').to.deep.equal([1, 5, 6, 7]);

      hold();
      runner.deliver(frame(8));
      for (let n = 0; n < 200; n++) runner.deliver(frame(9));
      expect(runner.droppedFrames).to.equal(3 + 197);
      const warnings = lines.filter((l) => l.msg === 'handler too slow: inbound frames dropped (oldest first)');
      expect(warnings.map((w) => w.droppedInbound)).to.deep.equal([1, 50, 100, 200]);
      expect(warnings.every((w) => w.backlogFrames === 3)).to.equal(true);
    });

    it('times each synchronous receive through the handled hook', async () => {
      const { runner, hooks } = setup({ receive: () => {} });
      await runner.start();
      runner.deliver(frame(1));
      runner.deliver(frame(2));
      expect(hooks.timings).to.have.length(2);
      expect(hooks.timings.every((ms) => ms >= 0 && ms < 50)).to.equal(true);
    });
  });

  describe('emit()', () => {
    it('sends what emit returns, waiting for room after each item', async () => {
      const items: EmitItem[] = [frame(1), new AdditionalOutputs('x'), frame(2)];
      let calls = 0;
      const { runner, hooks } = setup({ emit: () => items[calls++] });
      hooks.closeRoom();
      void runner.start();
      await settle();
      expect(hooks.sent).to.deep.equal([items[0]]);
      expect(calls, 'no second emit before there is room').to.equal(1);
      hooks.openRoom();
      await settle();
      expect(hooks.sent).to.deep.equal(items);
      await runner.stop();
    });

    it('treats null from emit as nothing, and sends nothing emit returns after the stop', async () => {
      const late = deferred<EmitItem>();
      const answers: (() => unknown)[] = [() => null, () => late.promise];
      let calls = 0;
      const { runner, hooks } = setup({ emit: () => answers[calls++]?.() as EmitItem | undefined, receive: () => {} });
      void runner.start();
      await settle();
      expect(calls).to.equal(1);
      runner.deliver(frame(1)); // wakes it: emit is asked again and hangs
      await settle();
      expect(calls).to.equal(2);
      await runner.stop();
      late.resolve(frame(2));
      await settle();
      expect(hooks.sent, 'neither the null nor the late frame').to.deep.equal([]);
    });

    it('when emit has nothing, waits for the next inbound frame or a frame time, not a busy loop', async () => {
      let calls = 0;
      const { runner, hooks } = setup({ emit: () => void calls++ });
      void runner.start();
      await settle();
      expect(calls).to.equal(1);
      expect(hooks.idleCalls).to.equal(1);
      await settle();
      expect(calls, 'still waiting').to.equal(1);
      runner.deliver(frame(1)); // an inbound frame wakes it
      await settle();
      expect(calls).to.equal(2);
      hooks.passFrameTime(); // so does a frame time passing
      await settle();
      expect(calls).to.equal(3);
      await runner.stop();
      hooks.passFrameTime();
      await settle();
      expect(calls, 'no emit after stop').to.equal(3);
      expect(hooks.failures).to.deep.equal([]);
    });
  });

  describe('generators and play()', () => {
    it('pumps a generator handler one item per room: it runs no further ahead', async () => {
      let produced = 0;
      const speaker: SessionFunction = async function* () {
        for (let n = 1; n <= 4; n++) {
          produced++;
          yield frame(n);
        }
      };
      const { runner, hooks } = setup(speaker);
      hooks.closeRoom();
      const done = runner.start();
      await settle();
      expect([produced, hooks.sent.length]).to.deep.equal([1, 1]);
      hooks.openRoom();
      hooks.closeRoom();
      await settle();
      expect([produced, hooks.sent.length]).to.deep.equal([2, 2]);
      hooks.openRoom();
      await done;
      expect(hooks.sent.map(id)).to.deep.equal([1, 2, 3, 4]);
    });

    it('pumps a plain iterable too, and awaits a function that returns a promise', async () => {
      const iterable = setup(() => [frame(1), frame(2)]);
      await iterable.runner.start();
      expect(iterable.hooks.sent.map(id)).to.deep.equal([1, 2]);

      const finish = deferred();
      const fn = setup(async () => finish.promise);
      let returned = false;
      const started = fn.runner.start().then(() => (returned = true));
      await settle();
      expect(returned).to.equal(false);
      finish.resolve();
      await started;
      expect(returned).to.equal(true);
      expect(fn.hooks.failures, 'a promise is awaited, not iterated').to.deep.equal([]);

      const nothing = setup(() => {});
      await nothing.runner.start();
      expect(nothing.hooks.failures, 'nothing returned is fine').to.deep.equal([]);
    });

    it('play() stops when its signal aborts: nothing more is pulled or sent', async () => {
      let produced = 0;
      let finished = false;
      async function* reply() {
        try {
          for (let n = 1; n <= 10; n++) {
            produced++;
            yield frame(n);
          }
        } finally {
          finished = true;
        }
      }
      const { runner, hooks } = setup(() => {});
      const seen: EmitItem[] = [];
      const controller = new AbortController();
      hooks.closeRoom();
      const playing = runner.pump(reply(), { signal: controller.signal, onItem: (item) => seen.push(item) });
      await settle();
      hooks.openRoom();
      hooks.closeRoom();
      await settle();
      expect(hooks.sent.map(id)).to.deep.equal([1, 2]);
      controller.abort();
      hooks.openRoom();
      await playing;
      expect(hooks.sent.map(id)).to.deep.equal([1, 2]);
      expect(seen.map(id), 'onItem saw each item sent').to.deep.equal([1, 2]);
      expect(produced).to.equal(2);
      expect(finished, 'the generator was closed').to.equal(true);
    });

    it('play() sends nothing with a signal already aborted, and stops with the runner', async () => {
      const { runner, hooks } = setup(() => {});
      await runner.pump([frame(1), frame(2)], { signal: AbortSignal.abort() });
      expect(hooks.sent).to.deep.equal([]);

      hooks.closeRoom();
      const playing = runner.pump([frame(1), frame(2), frame(3)]);
      await settle();
      await runner.stop();
      hooks.openRoom();
      await playing;
      expect(hooks.sent.map(id)).to.deep.equal([1]);
    });

    it('play() rejects with what its items threw', async () => {
      const { runner } = setup(() => {});
      async function* broken() {
        yield frame(1);
        throw new Error('the reply broke');
      }
      let caught: unknown;
      await runner.pump(broken()).catch((error: unknown) => (caught = error));
      expect((caught as Error).message).to.equal('the reply broke');
    });
  });

  describe('errors reach the fail hook', () => {
    const boom = new Error('boom');
    const cases: [string, AudioHandler, string, (runner: HandlerRunner) => void][] = [
      ['startUp throwing', { startUp: () => { throw boom; } }, 'handler', () => {}],
      ['startUp rejecting', { startUp: () => Promise.reject(boom) }, 'handler', () => {}],
      ['receive throwing', { receive: () => { throw boom; } }, 'receive', (r) => r.deliver(frame(1))],
      ['receive rejecting', { receive: () => Promise.reject(boom) }, 'receive', (r) => r.deliver(frame(1))],
      ['emit throwing', { emit: () => { throw boom; } }, 'handler', () => {}],
      ['onDtmf throwing', { onDtmf: () => { throw boom; } }, 'onDtmf', (r) => r.dtmf('1')],
      ['onDtmf rejecting', { onDtmf: () => Promise.reject(boom) }, 'onDtmf', (r) => r.dtmf('1')],
      ['a session function throwing', (() => { throw boom; }) as SessionFunction, 'handler', () => {}],
      ['a generator throwing', (async function* () { yield* []; throw boom; }) as SessionFunction, 'handler', () => {}],
    ];
    for (const [what, handler, during, poke] of cases) {
      it(what, async () => {
        const { runner, hooks } = setup(handler);
        await runner.start();
        poke(runner);
        await settle();
        expect(hooks.failures).to.deep.equal([{ error: boom, during }]);
      });
    }

    it('but not once stopped', async () => {
      const startUp = deferred();
      const { runner, hooks } = setup({ startUp: () => startUp.promise });
      const started = runner.start();
      await runner.stop();
      startUp.reject(boom);
      await started;
      expect(hooks.failures).to.deep.equal([]);
    });
  });

  describe('stop()', () => {
    it('runs shutdown once, stops delivering, and never throws', async () => {
      let shutdowns = 0;
      const heard: number[] = [];
      const digits: string[] = [];
      const { runner, lines, ctx } = setup({
        receive: (f) => void heard.push(id(f)),
        onDtmf: (d) => void digits.push(d),
        shutdown: (c) => {
          expect(c).to.equal(ctx);
          shutdowns++;
          throw new Error('shutdown broke');
        },
      });
      await runner.start();
      await Promise.all([runner.stop(), runner.stop()]);
      await runner.stop();
      expect(shutdowns).to.equal(1);
      const warnings = lines.filter((l) => l.msg === 'handler shutdown() threw');
      expect(warnings).to.have.length(1);
      expect((warnings[0]!.err as { message: string }).message).to.equal('shutdown broke');
      runner.deliver(frame(1));
      runner.dtmf('5');
      expect(heard).to.deep.equal([]);
      expect(digits).to.deep.equal([]);
    });

    it('is quiet for a handler without shutdown, or a session function', async () => {
      for (const handler of [{ receive: () => {} }, () => {}] as AudioHandler[]) {
        const { runner, lines, hooks } = setup(handler);
        await runner.start();
        await runner.stop();
        expect(lines).to.deep.equal([]);
        expect(hooks.failures).to.deep.equal([]);
      }
    });

    it('drops what the backlog held', async () => {
      const { heard, handler, hold, release } = recorder();
      const { runner } = setup(handler);
      await runner.start();
      hold();
      runner.deliver(frame(1));
      runner.deliver(frame(2));
      await runner.stop();
      release();
      await settle();
      expect(heard).to.deep.equal([1]);
    });
  });

  describe('ctx.audio()', () => {
    it('yields inbound frames in order, once per session, and ends at stop', async () => {
      const { runner, hooks } = setup(() => {});
      const audio = runner.audio();
      expect(() => runner.audio()).to.throw(/once per session/);
      await runner.start();
      for (let n = 1; n <= 3; n++) runner.deliver(frame(n));
      const got: number[] = [];
      const reading = (async () => {
        for await (const f of audio) got.push(id(f));
      })();
      await settle();
      expect(got).to.deep.equal([1, 2, 3]);
      await runner.stop();
      await reading;
      expect(got).to.deep.equal([1, 2, 3]);
      expect(hooks.failures, 'a function has no receive() to call').to.deep.equal([]);
    });

    it('drops the oldest frames for a slow reader and counts them', async () => {
      const { runner } = setup(() => {}, 2);
      const iterator = runner.audio()[Symbol.asyncIterator]();
      await runner.start();
      for (let n = 1; n <= 5; n++) runner.deliver(frame(n));
      expect(runner.droppedFrames).to.equal(3);
      expect(id((await iterator.next()).value as AudioFrame)).to.equal(4);
      expect(id((await iterator.next()).value as AudioFrame)).to.equal(5);
    });
  });
});
