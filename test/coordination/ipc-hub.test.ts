import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import { type Coordination, LEASE_MS } from '../../src/coordination/coordination.js';
import { ASK_BACKSTOP_MS, serveHubOverIpc, type ServedWorker } from '../../src/coordination/ipc-hub.js';
import { IpcHubPort } from '../../src/coordination/ipc-port.js';
import type { HubWire, IpcEnd } from '../../src/coordination/ipc-wire.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { MemoryHub } from '../../src/coordination/memory-hub.js';
import { CallstreamError } from '../../src/errors.js';
import { rejection } from '../support/rejection.js';
import { describeCoordinationContract } from './contract.js';

/**
 * An IPC channel in one process, as node:cluster gives a primary and a worker: messages go through
 * JSON (so anything that is not plain JSON shows) and arrive on a later turn of the event loop;
 * `close()` is the worker dying (both ends see it, messages in flight are lost).
 */
function channel(): { primary: IpcEnd; worker: IpcEnd; sent: HubWire[]; close(): void } {
  const toPrimary = new EventEmitter();
  const toWorker = new EventEmitter();
  const sent: HubWire[] = [];
  let open = true;
  const end = (outbox: EventEmitter, inbox: EventEmitter): IpcEnd => ({
    send: (message) => {
      if (!open) return;
      sent.push(message);
      const text = JSON.stringify(message);
      setImmediate(() => open && outbox.emit('message', JSON.parse(text)));
    },
    onMessage: (listener) => inbox.on('message', listener),
    onClose: (listener) => inbox.once('close', listener),
  });
  return {
    primary: end(toWorker, toPrimary),
    worker: end(toPrimary, toWorker),
    sent,
    close() {
      open = false;
      toPrimary.emit('close');
      toWorker.emit('close');
    },
  };
}

interface Pair {
  hub: MemoryHub;
  a: Coordination;
  b: Coordination;
  /** The IPC side, when the pair talks over it. */
  ipc?: { a: ReturnType<typeof channel>; b: ReturnType<typeof channel>; servedA: ServedWorker; servedB: ServedWorker };
}

/** Two instances sharing one hub: in the same process, or as two workers of a primary holding the hub. */
const layouts: Record<string, (clock?: ManualClock) => Pair> = {
  'in one process': (clock) => {
    const hub = new MemoryHub(clock);
    return { hub, a: new MemoryCoordination({ hub, instanceId: 'a' }), b: new MemoryCoordination({ hub, instanceId: 'b' }) };
  },
  'as two workers over IPC': (clock) => {
    const hub = new MemoryHub(clock);
    const a = channel();
    const b = channel();
    const servedA = serveHubOverIpc(hub, a.primary, { clock });
    const servedB = serveHubOverIpc(hub, b.primary, { clock });
    return {
      hub,
      a: new MemoryCoordination({ hub: new IpcHubPort(a.worker, { clock }), instanceId: 'a', clock }),
      b: new MemoryCoordination({ hub: new IpcHubPort(b.worker, { clock }), instanceId: 'b', clock }),
      ipc: { a, b, servedA, servedB },
    };
  },
};

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Lets messages in flight arrive (a few event-loop turns). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await turn();
};

for (const [layout, make] of Object.entries(layouts)) {
  describe(`coordination through a MemoryHub, ${layout}`, () => {
    let pair: Pair;
    afterEach(async () => {
      await pair.a.close();
      await pair.b.close();
    });

    it('shares one limit: a place held by one instance is refused to the other until released', async () => {
      pair = make();
      const place = await pair.a.acquirePlace('websocket', 1);
      expect(place).to.not.equal(undefined);
      expect(await pair.b.acquirePlace('websocket', 1)).to.equal(undefined);
      expect((await pair.b.counts()).byTransport.websocket).to.equal(1);
      place!.release();
      await settle();
      expect(await pair.b.acquirePlace('telephone', 1)).to.not.equal(undefined);
    });

    it('has no limit when the limit is Infinity (which JSON would turn into null)', async () => {
      pair = make();
      for (let i = 0; i < 3; i++) expect(await pair.a.acquirePlace('websocket', Infinity)).to.not.equal(undefined);
      expect((await pair.b.announceCall({ call: { params: {} }, parameters: {} }, Infinity, 5000)).kind).to.equal('issued');
    });

    it("takes a call announced through the other instance, once, and only for its own CallSid", async () => {
      pair = make();
      const announced = await pair.a.announceCall({ callSid: 'CA1', call: { callSid: 'CA1', params: {} }, parameters: { x: '1' } }, 5, 5000);
      expect(announced.kind).to.equal('issued');
      const token = (announced as { token: string }).token;
      expect((await pair.b.takeCall(token, 'CA2')).kind).to.equal('other_call');
      const taken = await pair.b.takeCall(token, 'CA1');
      expect(taken.kind).to.equal('taken');
      expect((taken as { announced: { parameters: unknown } }).announced.parameters).to.deep.equal({ x: '1' });
      expect((await pair.a.takeCall(token, 'CA1')).kind).to.equal('unknown');
      expect((await pair.a.announceCall({ callSid: 'CA1', call: { callSid: 'CA1', params: {} }, parameters: {} }, 5, 5000)).kind).to.equal('live');
    });

    it("routes an ask to the instance holding the key, and its handler's CallstreamError back with its code", async () => {
      pair = make();
      pair.a.onMessage((key, message) => {
        if (message.type === 'fail') throw new CallstreamError('NOT_FOUND', `nothing for ${key}`);
        return { echoed: message.value, by: 'a' };
      });
      expect(await pair.a.claim('session-1')).to.deep.equal([]);
      expect(await pair.b.claim('session-1')).to.equal(undefined);
      expect(await pair.b.ask('session-1', { type: 'echo', value: 7 })).to.deep.equal({ kind: 'replied', value: { echoed: 7, by: 'a' } });
      const error = await rejection(pair.b.ask('session-1', { type: 'fail' }));
      expect(error.code).to.equal('NOT_FOUND');
      expect(error.message).to.equal('nothing for session-1');
      expect(await pair.b.ask('nobody', { type: 'echo' })).to.deep.equal({ kind: 'absent' });
    });

    it('keeps messages for a key nobody holds yet, for whoever claims it', async () => {
      pair = make();
      expect(await pair.b.ask('later', { type: 'candidate', n: 1 }, { keep: true })).to.deep.equal({ kind: 'kept' });
      expect(await pair.a.claim('later')).to.deep.equal([{ type: 'candidate', n: 1 }]);
    });

    it('publishes a topic to every instance, the publisher included', async () => {
      pair = make();
      const heard: string[] = [];
      pair.a.subscribe('outputs', (message) => heard.push(`a:${String(message.n)}`));
      pair.b.subscribe('outputs', (message) => heard.push(`b:${String(message.n)}`));
      pair.b.publish('outputs', { type: 'output', n: 1 });
      await settle();
      expect(heard.sort()).to.deep.equal(['a:1', 'b:1']);
    });

    it('shares rate-limit buckets', async () => {
      pair = make();
      const rule = { limit: 2, windowMs: 60_000 };
      expect(await pair.a.rateBucket('offers', rule).hit('1.2.3.4')).to.equal(0);
      expect(await pair.b.rateBucket('offers', rule).hit('1.2.3.4')).to.equal(0);
      expect(await pair.a.rateBucket('offers', rule).hit('1.2.3.4')).to.be.greaterThan(0);
      expect(await pair.b.rateBucket('offers', rule).retryAfterMs('1.2.3.4')).to.be.greaterThan(0);
    });

    it('gives back at once what a closed instance held', async () => {
      pair = make();
      await pair.a.acquirePlace('webrtc', 1);
      await pair.a.claim('k');
      await pair.a.close();
      await settle();
      expect(await pair.b.acquirePlace('webrtc', 1)).to.not.equal(undefined);
      expect(await pair.b.claim('k')).to.deep.equal([]);
    });
  });
}

describe('the hub served over IPC (node:cluster primary and workers)', () => {
  let pair: Pair;
  afterEach(async () => {
    await pair.a.close();
    await pair.b.close();
  });

  it('fails an ask at once when the worker holding the key dies before answering', async () => {
    const clock = new ManualClock(); // no timeout can fire: only the death can end the ask
    pair = layouts['as two workers over IPC']!(clock);
    let asked!: () => void;
    const reached = new Promise<void>((resolve) => (asked = resolve));
    pair.a.onMessage(() => {
      asked();
      return new Promise(() => {}); // never answers
    });
    await pair.a.claim('session-1');
    const answer = pair.b.ask('session-1', { type: 'setInputs' });
    await reached;
    pair.ipc!.a.close(); // worker a dies with the ask in flight
    const error = await rejection(answer);
    expect(error.code).to.equal('COORDINATION_UNAVAILABLE');
    // Its instance is still in the hub until the primary ends it: asks for its keys fail at once too.
    expect((await rejection(pair.b.ask('session-1', { type: 'setInputs' }))).code).to.equal('COORDINATION_UNAVAILABLE');
    pair.ipc!.servedA.end(false);
    expect((await rejection(pair.b.ask('session-1', { type: 'setInputs' }))).code).to.equal('COORDINATION_UNAVAILABLE');
  });

  it("times an ask out when the holder does not answer, with the asker's timeout", async () => {
    const clock = new ManualClock();
    pair = layouts['as two workers over IPC']!(clock);
    pair.a.onMessage(() => new Promise(() => {}));
    await pair.a.claim('slow');
    let settled = false;
    const answer = pair.b.ask('slow', { type: 'x' }, { timeoutMs: 500 });
    void answer.catch(() => {}).finally(() => (settled = true));
    await settle();
    clock.advance(499);
    await settle();
    expect(settled).to.equal(false);
    clock.advance(1);
    expect((await rejection(answer)).code).to.equal('COORDINATION_UNAVAILABLE');
    // The primary's backstop frees its side too.
    clock.advance(ASK_BACKSTOP_MS);
  });

  it("leaves a crashed worker's places to lapse with their leases, and gives a drained worker's back at once", async () => {
    const clock = new ManualClock();
    pair = layouts['as two workers over IPC']!(clock);
    await pair.a.acquirePlace('websocket', 2);
    await pair.b.acquirePlace('websocket', 2);
    expect(pair.ipc!.servedA.instanceIds).to.deep.equal(['a']);
    pair.ipc!.a.close();
    pair.ipc!.servedA.end(false); // crashed
    pair.ipc!.b.close();
    pair.ipc!.servedB.end(true); // drained, exit 0 (its own release may have been lost on exit)
    expect(pair.hub.counts().total).to.equal(1);
    clock.advance(LEASE_MS);
    expect(pair.hub.counts().total).to.equal(0);
  });

  it('fails calls with COORDINATION_UNAVAILABLE once the primary is gone', async () => {
    pair = layouts['as two workers over IPC']!();
    pair.ipc!.a.close();
    expect((await rejection(pair.a.acquirePlace('websocket', 1))).code).to.equal('COORDINATION_UNAVAILABLE');
    expect((await rejection(pair.a.ask('x', { type: 'x' }))).code).to.equal('COORDINATION_UNAVAILABLE');
  });

  it('sends only JSON, each message tagged for the hub', async () => {
    pair = layouts['as two workers over IPC']!();
    pair.a.onMessage(() => ({ ok: true }));
    await pair.a.claim('k');
    await pair.b.ask('k', { type: 'x' });
    const kinds = new Set([...pair.ipc!.a.sent, ...pair.ipc!.b.sent].map((message) => message.hub));
    expect([...kinds].sort()).to.deep.equal(['answer', 'ask', 'call', 'cast', 'result']);
  });
});

describe('MemoryCoordination over IPC (node:cluster workers and their primary)', () => {
  describeCoordinationContract('memory over IPC', async (count, timing) => {
    const hub = new MemoryHub(undefined, timing.rememberedCalls);
    const channels = Array.from({ length: count }, () => channel());
    const served = channels.map((ipc) => serveHubOverIpc(hub, ipc.primary));
    const instances = channels.map((ipc) => new MemoryCoordination({ hub: new IpcHubPort(ipc.worker), leaseMs: timing.leaseMs, renewEveryMs: timing.renewEveryMs }));
    await Promise.all(instances.map((c) => c.start()));
    return {
      instances,
      cleanup: async () => {
        await Promise.all(instances.map((c) => c.close()));
        for (const [i, ipc] of channels.entries()) {
          ipc.close();
          served[i]!.end(true);
        }
      },
    };
  });
});
