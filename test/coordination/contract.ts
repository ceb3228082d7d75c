import { expect } from 'chai';
import type { AnnouncedCall, BusMessage, Coordination } from '../../src/coordination/coordination.js';
import { CallstreamError } from '../../src/errors.js';
import { sleep } from '../support/wait.js';

/** Leases short enough for tests to watch them lapse, and a bound small enough to reach. */
export interface ContractTiming {
  leaseMs: number;
  renewEveryMs: number;
  /** CallSids remembered at most (the implementation's `rememberedCallsMax`). */
  rememberedCalls: number;
}

/** Makes `count` started instances of one deployment (sharing one store), and what frees them all. */
export type MakeInstances = (count: number, timing: ContractTiming) => Promise<{ instances: Coordination[]; cleanup(): Promise<void> }>;

/** The test hook an implementation may offer: the instance dies as with SIGKILL (nothing given back). */
type Crashable = Coordination & { crash(): void };

const TIMING: ContractTiming = { leaseMs: 600, renewEveryMs: 150, rememberedCalls: 5 };
const LIMIT_SLACK_MS = 400;

/** Resolves once `check` resolves truthy (polled every 25 ms); fails after `timeoutMs`, naming `what`. */
async function eventually<T>(check: () => Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25); // the poll interval of this condition wait
  }
}

async function rejection(promise: Promise<unknown>): Promise<CallstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallstreamError) return error;
    throw error;
  }
  throw new Error('expected a CallstreamError rejection, got a value');
}

function call(callSid?: string): AnnouncedCall {
  const params: Record<string, string> = callSid ? { CallSid: callSid, From: '+15550001111' } : { From: '+15550001111' };
  return { ...(callSid ? { callSid } : {}), call: { ...(callSid ? { callSid } : {}), from: '+15550001111', params }, parameters: { greeting: 'hi' } };
}

const msg = (type: string, fields: Record<string, unknown> = {}): BusMessage => ({ type, ...fields });

/**
 * Every promise of the Coordination contract (src/coordination/coordination.ts), run against one
 * implementation with two or three instances of one deployment.
 */
export function describeCoordinationContract(name: string, makeInstances: MakeInstances): void {
  describe(`Coordination contract: ${name}`, function () {
    this.timeout(10_000);
    let cleanup: (() => Promise<void>) | undefined;

    async function instances(count: number): Promise<Coordination[]> {
      const made = await makeInstances(count, TIMING);
      cleanup = made.cleanup;
      return made.instances;
    }

    function crashable(instance: Coordination, test: Mocha.Context): Crashable {
      const candidate = instance as Partial<Crashable> & Coordination;
      if (typeof candidate.crash !== 'function') test.skip();
      return candidate as Crashable;
    }

    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    it('gives each instance its own id, and is healthy once started', async () => {
      const all = await instances(3);
      expect(new Set(all.map((c) => c.instanceId)).size).to.equal(3);
      for (const c of all) expect(c.healthy).to.equal(true);
    });

    describe('places', () => {
      it('holds one limit across instances and transports', async () => {
        const [a, b, c] = await instances(3);
        expect(await a!.acquirePlace('telephone', 3)).to.not.equal(undefined);
        expect(await b!.acquirePlace('webrtc', 3)).to.not.equal(undefined);
        expect(await c!.acquirePlace('websocket', 3)).to.not.equal(undefined);
        expect(await a!.acquirePlace('websocket', 3)).to.equal(undefined);
        expect(await c!.acquirePlace('telephone', 3)).to.equal(undefined);
        expect(await b!.counts()).to.deep.equal({ byTransport: { telephone: 1, webrtc: 1, websocket: 1 }, total: 3 });
      });

      it('never goes past the limit when instances race for the last places', async () => {
        const all = await instances(3);
        const attempts = all.flatMap((c) => Array.from({ length: 5 }, () => c.acquirePlace('websocket', 4)));
        const places = (await Promise.all(attempts)).filter((p) => p !== undefined);
        expect(places).to.have.length(4);
        expect((await all[0]!.counts()).total).to.equal(4);
      });

      it('gives a released place back at once (release is idempotent)', async () => {
        const [a, b] = await instances(2);
        const place = (await a!.acquirePlace('telephone', 1))!;
        expect(place.transport).to.equal('telephone');
        expect(await b!.acquirePlace('webrtc', 1)).to.equal(undefined);
        place.release();
        place.release();
        expect(await eventually(() => b!.acquirePlace('webrtc', 1), 100, 'the released place')).to.not.equal(undefined);
        expect((await a!.counts()).byTransport).to.deep.equal({ telephone: 0, webrtc: 1, websocket: 0 });
      });

      it('keeps renewing a held place beyond the lease', async () => {
        const [a, b] = await instances(2);
        await a!.acquirePlace('webrtc', 1);
        await sleep(TIMING.leaseMs * 2); // kept: outliving the lease is what is tested (real time must pass)
        expect(await b!.acquirePlace('webrtc', 1)).to.equal(undefined);
        expect((await b!.counts()).total).to.equal(1);
      });

      it('close() gives back every place and claim at once', async () => {
        const [a, b] = await instances(2);
        await a!.acquirePlace('telephone', 5);
        await a!.acquirePlace('websocket', 5);
        expect(await a!.claim('session-1')).to.deep.equal([]);
        await a!.close();
        expect((await b!.counts()).total).to.equal(0);
        expect(await b!.claim('session-1')).to.deep.equal([]);
      });

      it('gives back the places and claims of a crashed instance within the lease', async function () {
        const [a, b] = await instances(2);
        await a!.acquirePlace('webrtc', 1);
        await a!.claim('session-2');
        const crashed = performance.now();
        crashable(a!, this).crash();
        expect(await b!.acquirePlace('webrtc', 1)).to.equal(undefined);
        expect(await b!.claim('session-2')).to.equal(undefined);
        await eventually(() => b!.acquirePlace('webrtc', 1), TIMING.leaseMs + LIMIT_SLACK_MS, 'the crashed place');
        expect(await eventually(() => b!.claim('session-2'), 100, 'the crashed claim')).to.deep.equal([]);
        expect(performance.now() - crashed).to.be.at.most(TIMING.leaseMs + LIMIT_SLACK_MS);
      });
    });

    describe('announced calls', () => {
      it('issues a token per CallSid, repeats it while the stream is awaited, and is busy at the limit', async () => {
        const [a, b, c] = await instances(3);
        const first = await a!.announceCall(call('CA1'), 2, 5000);
        expect(first.kind).to.equal('issued');
        expect(await b!.announceCall(call('CA1'), 2, 5000)).to.deep.equal({ kind: 'repeated', token: (first as { token: string }).token });
        expect(await c!.counts()).to.deep.equal({ byTransport: { telephone: 1, webrtc: 0, websocket: 0 }, total: 1 });
        expect((await c!.announceCall(call('CA2'), 2, 5000)).kind).to.equal('issued');
        expect(await a!.announceCall(call('CA3'), 2, 5000)).to.deep.equal({ kind: 'busy' });
        expect(await b!.acquirePlace('websocket', 2)).to.equal(undefined);
      });

      it('treats every call without a CallSid as new', async () => {
        const [a, b] = await instances(2);
        const one = await a!.announceCall(call(), 5, 5000);
        const two = await b!.announceCall(call(), 5, 5000);
        expect([one.kind, two.kind]).to.deep.equal(['issued', 'issued']);
        expect((one as { token: string }).token).to.not.equal((two as { token: string }).token);
        expect((await a!.counts()).byTransport.telephone).to.equal(2);
        const taken = await b!.takeCall((one as { token: string }).token, 'CAanything');
        expect(taken.kind).to.equal('taken');
      });

      it('lets exactly one instance take a token, once, deployment-wide', async () => {
        const [a, b, c] = await instances(3);
        const announced = call('CA10');
        const { token } = (await a!.announceCall(announced, 5, 5000)) as { token: string };
        const results = await Promise.all([b!.takeCall(token, 'CA10'), c!.takeCall(token, 'CA10'), b!.takeCall(token, 'CA10')]);
        const taken = results.filter((r) => r.kind === 'taken');
        expect(taken).to.have.length(1);
        expect(results.filter((r) => r.kind === 'unknown')).to.have.length(2);
        const won = taken[0] as Extract<(typeof results)[number], { kind: 'taken' }>;
        expect(won.announced).to.deep.equal(announced);
        expect(won.place.transport).to.equal('telephone');
        expect((await a!.takeCall(token, 'CA10')).kind).to.equal('unknown');
        expect(await a!.takeCall('never-issued', 'CA10')).to.deep.equal({ kind: 'unknown' });
        await sleep(TIMING.leaseMs * 2); // the taker renews the call's place from now on
        expect((await a!.counts()).byTransport.telephone).to.equal(1);
        expect(await a!.announceCall(announced, 5, 5000)).to.deep.equal({ kind: 'live' });
      });

      it('refuses a token presented for another call and keeps it for its own', async () => {
        const [a, b] = await instances(2);
        const { token } = (await a!.announceCall(call('CA20'), 5, 5000)) as { token: string };
        expect(await b!.takeCall(token, 'CA21')).to.deep.equal({ kind: 'other_call' });
        expect(await b!.takeCall(token, undefined)).to.deep.equal({ kind: 'other_call' });
        expect((await b!.takeCall(token, 'CA20')).kind).to.equal('taken');
      });

      it('frees the place of a token whose stream never came', async () => {
        const [a, b] = await instances(2);
        const { token } = (await a!.announceCall(call('CA30'), 1, 300)) as { token: string };
        expect(await b!.announceCall(call('CA31'), 1, 300)).to.deep.equal({ kind: 'busy' });
        // Kept: the token's own expiry (300 ms) is tested, and nothing signals it. Waiting for the place
        // to go is not enough on Redis: the token key may outlive the place's score by a millisecond.
        await sleep(400);
        expect((await b!.counts()).total).to.equal(0);
        expect(await b!.takeCall(token, 'CA30')).to.deep.equal({ kind: 'unknown' });
        // Its CallSid is remembered: announced again only when the call is confirmed live.
        expect(await b!.announceCall(call('CA30'), 1, 300)).to.deep.equal({ kind: 'ended' });
        expect((await b!.announceCall(call('CA30'), 1, 300, { resume: true })).kind).to.equal('issued');
      });

      it('refuses a CallSid once its live call has given its place back, unless resumed (a redirect), on every instance', async () => {
        const [a, b, c] = await instances(3);
        const { token } = (await a!.announceCall(call('CA40'), 5, 5000)) as { token: string };
        const taken = await b!.takeCall(token, 'CA40');
        if (taken.kind !== 'taken') throw new Error(`not taken: ${taken.kind}`);
        expect(await a!.announceCall(call('CA40'), 5, 5000)).to.deep.equal({ kind: 'live' });
        expect(await a!.announceCall(call('CA40'), 5, 5000, { resume: true })).to.deep.equal({ kind: 'live' });
        taken.place.release();
        await eventually(async () => (await a!.counts()).total === 0, 100, 'the place given back');
        for (const instance of [a, b, c]) expect(await instance!.announceCall(call('CA40'), 5, 5000)).to.deep.equal({ kind: 'ended' });
        expect((await a!.counts()).total, 'no place for a refused CallSid').to.equal(0);
        const again = await c!.announceCall(call('CA40'), 5, 5000, { resume: true });
        if (again.kind !== 'issued') throw new Error(`not issued: ${again.kind}`);
        expect(again.token).to.not.equal(token);
        expect(await a!.announceCall(call('CA40'), 5, 5000)).to.deep.equal({ kind: 'repeated', token: again.token });
      });

      it("frees a live call's place within the lease when its instance crashes; its CallSid stays remembered", async function () {
        const [a, b] = await instances(2);
        const { token } = (await a!.announceCall(call('CA50'), 1, 5000)) as { token: string };
        expect((await b!.takeCall(token, 'CA50')).kind).to.equal('taken');
        crashable(b!, this).crash();
        const freed = await eventually(async () => {
          const announcement = await a!.announceCall(call('CA50'), 1, 5000);
          return announcement.kind === 'ended' ? announcement : undefined;
        }, TIMING.leaseMs + LIMIT_SLACK_MS, 'the crashed call freed');
        expect(freed.kind).to.equal('ended');
        expect((await a!.announceCall(call('CA50'), 1, 5000, { resume: true })).kind).to.equal('issued');
      });

      it('forgets a CallSid after its rememberMs', async () => {
        const [a, b] = await instances(2);
        expect((await a!.announceCall(call('CA60'), 5, 100, { rememberMs: 300 })).kind).to.equal('issued');
        await sleep(150); // kept: the token's own expiry (100 ms) is tested, and nothing signals it
        expect(await b!.announceCall(call('CA60'), 5, 100)).to.deep.equal({ kind: 'ended' });
        await sleep(250); // kept: the CallSid's own expiry (300 ms) is tested, and nothing signals it
        expect((await b!.announceCall(call('CA60'), 5, 100)).kind).to.equal('issued');
      });

      it('remembers a CallSid said over (rememberCall), for every instance, never for less than it was', async () => {
        const [a, b] = await instances(2);
        await a!.rememberCall('CA70', 300);
        expect(await b!.announceCall(call('CA70'), 5, 5000)).to.deep.equal({ kind: 'ended' });
        await a!.rememberCall('CA71', 5000);
        await b!.rememberCall('CA71', 1); // shorter: changes nothing
        await sleep(350); // kept: CA70's own expiry (300 ms) is tested, and nothing signals it
        expect(await b!.announceCall(call('CA71'), 5, 5000)).to.deep.equal({ kind: 'ended' });
        expect((await a!.announceCall(call('CA70'), 5, 5000)).kind).to.equal('issued');
      });

      it(`keeps at most ${TIMING.rememberedCalls} CallSids remembered (its bound), forgetting the oldest first`, async () => {
        const [a, b] = await instances(2);
        const sids = Array.from({ length: TIMING.rememberedCalls + 2 }, (_, i) => `CA8${i}`);
        for (const [i, callSid] of sids.entries()) await (i % 2 ? a : b)!.rememberCall(callSid, 5000);
        // The newest are refused first (refusals remember nothing new), then the oldest are issued.
        for (const callSid of sids.slice(2).reverse()) expect(await a!.announceCall(call(callSid), 50, 5000), callSid).to.deep.equal({ kind: 'ended' });
        for (const callSid of sids.slice(0, 2)) expect((await b!.announceCall(call(callSid), 50, 5000)).kind, callSid).to.equal('issued');
      });
    });

    describe('directory and bus', () => {
      it('lets one instance at a time claim a key', async () => {
        const [a, b, c] = await instances(3);
        expect(await a!.claim('session-a')).to.deep.equal([]);
        expect(await b!.claim('session-a')).to.equal(undefined);
        expect(await c!.claim('session-a')).to.equal(undefined);
        a!.unclaim('session-a');
        a!.unclaim('session-a');
        b!.unclaim('never-claimed');
        expect(await eventually(() => b!.claim('session-a'), 100, 'the key free')).to.deep.equal([]);
        expect(await a!.claim('session-a')).to.equal(undefined);
      });

      it('claims several keys in one step, all or none, with what was kept for each', async () => {
        const [a, b] = await instances(2);
        expect(await a!.claim('call:CA1')).to.deep.equal([]);
        expect(await b!.ask('session-m', msg('candidate', { n: 1 }), { keep: true })).to.deep.equal({ kind: 'kept' });
        // One of the keys is held elsewhere: none is taken, and what was kept stays kept.
        expect(await b!.claim('session-m', 'call:CA1')).to.equal(undefined);
        expect(await b!.ask('session-m', msg('ping'))).to.deep.equal({ kind: 'absent' });
        a!.unclaim('call:CA1');
        expect(await eventually(() => b!.claim('session-m', 'call:CA1'), 100, 'both keys free')).to.deep.equal([msg('candidate', { n: 1 })]);
        expect(await a!.claim('call:CA1')).to.equal(undefined);
        expect(await a!.claim('session-m')).to.equal(undefined);
      });

      it('keeps messages for a key nobody holds and delivers them, in order, to its next holder', async () => {
        const [a, b, c] = await instances(3);
        expect(await a!.ask('session-k', msg('candidate', { n: 1 }), { keep: true })).to.deep.equal({ kind: 'kept' });
        expect(await c!.ask('session-k', msg('candidate', { n: 2 }), { keep: true })).to.deep.equal({ kind: 'kept' });
        expect(await a!.ask('session-k', msg('candidate', { n: 3 }), { keep: true })).to.deep.equal({ kind: 'kept' });
        expect(await b!.claim('session-k')).to.deep.equal([msg('candidate', { n: 1 }), msg('candidate', { n: 2 }), msg('candidate', { n: 3 })]);
        b!.unclaim('session-k');
        expect(await eventually(() => c!.claim('session-k'), 100, 'the key free')).to.deep.equal([]);
      });

      it('keeps a bounded number of messages per key', async () => {
        const [a, b] = await instances(2);
        for (let n = 0; n < 200; n++) await a!.ask('session-flood', msg('candidate', { n }), { keep: true });
        const kept = (await b!.claim('session-flood')) as { n: number }[];
        expect(kept.length).to.be.within(1, 199);
        for (let i = 1; i < kept.length; i++) expect(kept[i]!.n).to.be.greaterThan(kept[i - 1]!.n);
      });

      it('drops kept messages after their keepMs', async () => {
        const [a, b] = await instances(2);
        await a!.ask('session-old', msg('candidate', { n: 1 }), { keep: true, keepMs: 200 });
        await sleep(300); // kept: keepMs running out is what is tested (claiming to look would consume them)
        await a!.ask('session-old', msg('candidate', { n: 2 }), { keep: true, keepMs: 5000 });
        expect(await b!.claim('session-old')).to.deep.equal([msg('candidate', { n: 2 })]);
        await a!.ask('session-older', msg('candidate', { n: 3 }), { keep: true, keepMs: 200 });
        await sleep(300); // kept: as above
        expect(await b!.claim('session-older')).to.deep.equal([]);
      });

      it('keeps the first keepAtMost messages of a key, and takes more as they lapse one by one', async () => {
        const [a, b] = await instances(2);
        const keep = (keepMs: number) => ({ keep: true, keepMs, keepAtMost: 3 });
        expect(await a!.ask('session-cap', msg('candidate', { n: 1 }), keep(250))).to.deep.equal({ kind: 'kept' });
        for (const n of [2, 3]) expect(await a!.ask('session-cap', msg('candidate', { n }), keep(5000))).to.deep.equal({ kind: 'kept' });
        expect(await a!.ask('session-cap', msg('candidate', { n: 4 }), keep(5000))).to.deep.equal({ kind: 'full', bound: 'key' });
        await sleep(350); // kept: the first message lapsing is what is tested
        // Newer messages do not keep the first one alive: its place is free again.
        expect(await a!.ask('session-cap', msg('candidate', { n: 5 }), keep(5000))).to.deep.equal({ kind: 'kept' });
        expect(await b!.claim('session-cap')).to.deep.equal([2, 3, 5].map((n) => msg('candidate', { n })));
      });

      it('keeps at most keptBytesAtMost for every key together, and takes more once some are claimed', async () => {
        const [a, b] = await instances(2);
        const padding = 'x'.repeat(1000);
        const keep = { keep: true, keepMs: 5000, keptBytesAtMost: 5000 };
        let kept = 0;
        for (let n = 0; n < 20; n++) {
          const delivery = await a!.ask(`session-many-${n}`, msg('candidate', { n, padding }), keep);
          if (delivery.kind === 'kept') kept++;
          else expect(delivery).to.deep.equal({ kind: 'full', bound: 'store' });
        }
        expect(kept, 'messages of about 1.1 kB kept within 5000 bytes').to.equal(4);
        expect(await b!.claim('session-many-0')).to.deep.equal([msg('candidate', { n: 0, padding })]);
        expect(await a!.ask('session-many-19', msg('candidate', { n: 19, padding }), keep)).to.deep.equal({ kind: 'kept' });
        expect(await a!.ask('session-many-18', msg('candidate', { n: 18, padding }), keep)).to.deep.equal({ kind: 'full', bound: 'store' });
      });

      it("answers an ask with the holder's handler, wherever the holder is", async () => {
        const [a, b] = await instances(2);
        for (const c of [a!, b!]) c.onMessage((key, message) => ({ key, got: message, by: c.instanceId }));
        await b!.claim('session-r');
        const message = msg('setInput', { value: { volume: 3, tags: ['x'] } });
        expect(await a!.ask('session-r', message)).to.deep.equal({ kind: 'replied', value: { key: 'session-r', got: message, by: b!.instanceId } });
        expect(await b!.ask('session-r', message)).to.deep.equal({ kind: 'replied', value: { key: 'session-r', got: message, by: b!.instanceId } });
        b!.onMessage(async () => 'replaced');
        expect(await a!.ask('session-r', message)).to.deep.equal({ kind: 'replied', value: 'replaced' });
        b!.onMessage(() => undefined); // values are JSON, near or far: nothing is null
        for (const asker of [a!, b!]) expect(await asker.ask('session-r', message)).to.deep.equal({ kind: 'replied', value: null });
      });

      it("rethrows the holder's CallstreamError with its code and message", async () => {
        const [a, b] = await instances(2);
        b!.onMessage(() => {
          throw new CallstreamError('NOT_FOUND', 'No output named "video" on this session.');
        });
        await b!.claim('session-e');
        for (const asker of [a!, b!]) {
          const error = await rejection(asker.ask('session-e', msg('outputs')));
          expect(error.code).to.equal('NOT_FOUND');
          expect(error.message).to.equal('No output named "video" on this session.');
        }
      });

      it('says absent when nobody holds the key and the message need not be kept', async () => {
        const [a, b] = await instances(2);
        expect(await a!.ask('session-none', msg('end'))).to.deep.equal({ kind: 'absent' });
        await b!.claim('session-none');
        b!.unclaim('session-none');
        expect(await eventually(async () => (await a!.ask('session-none', msg('end'))).kind === 'absent', 100, 'absent')).to.equal(true);
        expect(await b!.claim('session-none')).to.deep.equal([]); // nothing was kept
      });

      it('rejects COORDINATION_UNAVAILABLE when the holder does not answer within timeoutMs', async () => {
        const [a, b] = await instances(2);
        b!.onMessage(() => new Promise(() => {}));
        await b!.claim('session-slow');
        for (const asker of [a!, b!]) {
          const started = performance.now();
          const unanswered = sleep(1000).then(() => { // a guard, not a wait: it only fires if ask hangs
            throw new Error('ask did not give up within 1000 ms (timeoutMs 200 was not honoured)');
          });
          const error = await rejection(Promise.race([asker.ask('session-slow', msg('outputs'), { timeoutMs: 200 }), unanswered]));
          expect(error.code).to.equal('COORDINATION_UNAVAILABLE');
          expect(performance.now() - started).to.be.within(150, 600);
        }
      });

      it('rejects COORDINATION_UNAVAILABLE when the holder has crashed', async function () {
        const [a, b] = await instances(2);
        b!.onMessage(() => 'answer');
        await b!.claim('session-dead');
        crashable(b!, this).crash();
        const started = performance.now();
        const error = await rejection(a!.ask('session-dead', msg('end'), { timeoutMs: 300 }));
        expect(error.code).to.equal('COORDINATION_UNAVAILABLE');
        expect(performance.now() - started).to.be.below(1000);
      });
    });

    describe('topics', () => {
      it('reaches every instance listening, the publisher included, until unsubscribed', async () => {
        const all = await instances(3);
        const got: BusMessage[][] = all.map(() => []);
        const unsubscribe = all.map((c, i) => c.subscribe('calls', (m) => got[i]!.push(m)));
        const extra: BusMessage[] = [];
        const unsubscribeExtra = all[1]!.subscribe('calls', (m) => extra.push(m));
        // A subscription may take a moment to reach the store: publish until everyone hears.
        await eventually(async () => {
          all[0]!.publish('calls', msg('warmup'));
          await sleep(20); // between publishes of this condition wait
          return got.every((list) => list.length > 0) && extra.length > 0;
        }, 2000, 'every subscriber to hear');
        await sleep(50); // kept: stray warm-up messages still in flight land before the lists are cleared
        for (const list of [...got, extra]) list.length = 0;

        all[2]!.publish('calls', msg('ended', { callSid: 'CA60' }));
        await eventually(async () => got.every((list) => list.length === 1) && extra.length === 1, 1000, 'the message everywhere');
        expect(got.map((list) => list[0])).to.deep.equal(all.map(() => msg('ended', { callSid: 'CA60' })));

        unsubscribe[0]!();
        unsubscribeExtra();
        await sleep(100); // kept: an unsubscription reaches the store with no signal back
        all[2]!.publish('calls', msg('ended', { callSid: 'CA61' }));
        await eventually(async () => got[1]!.length === 2 && got[2]!.length === 2, 1000, 'the second message');
        await sleep(50); // kept: "the unsubscribed hear nothing" needs time to pass
        expect(got[0]).to.have.length(1);
        expect(extra).to.have.length(1);
        all[2]!.publish('other-topic', msg('noise'));
        await sleep(50); // kept: "another topic reaches nobody here" needs time to pass
        expect(got[1]).to.have.length(2);
        unsubscribe[1]!();
        unsubscribe[2]!();
      });
    });

    describe('rate buckets', () => {
      it('shares one budget per key across instances (N instances do not multiply it)', async () => {
        const all = await instances(3);
        const rule = { limit: 3, windowMs: 60_000 };
        const buckets = all.map((c) => c.rateBucket('webhook', rule));
        expect(buckets[0]!.rule).to.deep.equal(rule);
        expect(await Promise.all(buckets.map((b) => b.hit('203.0.113.7')))).to.deep.equal([0, 0, 0]);
        const wait = await buckets[1]!.hit('203.0.113.7');
        expect(wait).to.be.within(1, 20_000);
        expect(await buckets[2]!.retryAfterMs('203.0.113.7')).to.be.within(1, 20_000);
        expect(await buckets[2]!.retryAfterMs('203.0.113.7')).to.be.within(1, 20_000); // asking counts nothing
        expect(await buckets[0]!.hit('203.0.113.8')).to.equal(0);
        expect(await buckets[0]!.retryAfterMs('198.51.100.1')).to.equal(0);
        expect(await all[0]!.rateBucket('other', rule).hit('203.0.113.7')).to.equal(0);
      });

      it('refills evenly over the window', async () => {
        const [a, b] = await instances(2);
        const rule = { limit: 2, windowMs: 400 };
        const [x, y] = [a!.rateBucket('signature', rule), b!.rateBucket('signature', rule)];
        expect(await x.hit('k')).to.equal(0);
        expect(await y.hit('k')).to.equal(0);
        const wait = await x.hit('k');
        expect(wait).to.be.within(1, 200);
        await sleep(wait + 20); // kept: the rate window running out is what is tested
        expect(await y.retryAfterMs('k')).to.equal(0);
        expect(await y.hit('k')).to.equal(0);
        expect(await x.hit('k')).to.be.within(1, 200);
        await sleep(450); // kept: as above
        expect(await x.retryAfterMs('k')).to.equal(0);
        expect(await Promise.all([x.hit('k'), y.hit('k'), x.hit('k')])).to.satisfy((waits: number[]) => waits.filter((w) => w === 0).length === 2);
      });
    });
  });
}
