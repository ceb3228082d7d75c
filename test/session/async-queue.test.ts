import { expect } from 'chai';
import { DroppingQueue } from '../../src/session/async-queue.js';

describe('DroppingQueue', () => {
  it('hands items out first in, first out', () => {
    const queue = new DroppingQueue<number>(5);
    expect(queue.push(1)).to.equal(true);
    expect(queue.push(2)).to.equal(true);
    expect(queue.size).to.equal(2);
    expect(queue.shift()).to.equal(1);
    expect(queue.shift()).to.equal(2);
    expect(queue.shift()).to.equal(undefined);
    expect(queue.size).to.equal(0);
  });

  it('when full, drops the oldest item, says so and counts it', () => {
    const queue = new DroppingQueue<number>(3);
    for (const n of [1, 2, 3]) expect(queue.push(n)).to.equal(true);
    expect(queue.push(4)).to.equal(false);
    expect(queue.push(5)).to.equal(false);
    expect(queue.dropped).to.equal(2);
    expect(queue.size).to.equal(3);
    expect([queue.shift(), queue.shift(), queue.shift()]).to.deep.equal([3, 4, 5]);
  });

  it('keeps the newest items in order through many drops (its storage compacts)', () => {
    const queue = new DroppingQueue<number>(10);
    for (let n = 0; n < 5000; n++) queue.push(n);
    expect(queue.dropped).to.equal(4990);
    expect(queue.size).to.equal(10);
    const rest: number[] = [];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) rest.push(item);
    expect(rest).to.deep.equal(Array.from({ length: 10 }, (_, i) => 4990 + i));
    queue.push(1);
    expect(queue.shift()).to.equal(1);
  });

  it('keeps its storage bounded however many items pass through (a runaway producer cannot grow it)', () => {
    const queue = new DroppingQueue<number>(10);
    const storage = () => (queue as unknown as { items: unknown[] }).items.length;
    let largest = 0;
    for (let n = 0; n < 100_000; n++) {
      queue.push(n);
      largest = Math.max(largest, storage());
    }
    expect(largest, 'dropped items are compacted away').to.be.at.most(2 * 1025 + 10);
  });

  it('next() waits for the next push, which goes straight to the waiter', async () => {
    const queue = new DroppingQueue<string>(1);
    let got: IteratorResult<string> | undefined;
    const waiting = queue.next().then((r) => (got = r));
    await Promise.resolve();
    expect(got).to.equal(undefined);
    expect(queue.push('a')).to.equal(true);
    expect(queue.size, 'not queued: handed over').to.equal(0);
    await waiting;
    expect(got).to.deep.equal({ value: 'a', done: false });
    expect(queue.dropped).to.equal(0);
  });

  it('next() takes a queued item at once', async () => {
    const queue = new DroppingQueue<string>(2);
    queue.push('a');
    expect(await queue.next()).to.deep.equal({ value: 'a', done: false });
  });

  it('close() ends a waiting reader, empties the queue and ignores later pushes', async () => {
    const queue = new DroppingQueue<number>(3);
    const waiting = queue.next();
    queue.close();
    expect(await waiting).to.deep.equal({ value: undefined, done: true });

    const full = new DroppingQueue<number>(3);
    full.push(1);
    full.push(2);
    full.close();
    expect(full.size).to.equal(0);
    expect(full.push(3)).to.equal(true);
    expect(full.size).to.equal(0);
    expect(await full.next()).to.deep.equal({ value: undefined, done: true });
  });

  it('clear() empties it without closing', () => {
    const queue = new DroppingQueue<number>(3);
    queue.push(1);
    queue.push(2);
    queue.clear();
    expect(queue.size).to.equal(0);
    expect(queue.shift()).to.equal(undefined);
    queue.push(3);
    expect(queue.shift()).to.equal(3);
  });

  it('is an async iterable that ends when closed; leaving the loop closes it', async () => {
    const queue = new DroppingQueue<number>(10);
    queue.push(1);
    queue.push(2);
    const got: number[] = [];
    const reading = (async () => {
      for await (const n of queue) got.push(n);
    })();
    await new Promise<void>((resolve) => setImmediate(resolve));
    queue.push(3);
    queue.close();
    await reading;
    expect(got).to.deep.equal([1, 2, 3]);

    const left = new DroppingQueue<number>(10);
    left.push(1);
    left.push(2);
    for await (const n of left) {
      expect(n).to.equal(1);
      break;
    }
    expect(left.size, 'closed and emptied by the loop\'s return').to.equal(0);
    expect(await new DroppingQueue<number>(1)[Symbol.asyncIterator]().return!()).to.deep.equal({ value: undefined, done: true });
    expect(left.push(3)).to.equal(true);
    expect(await left.next()).to.deep.equal({ value: undefined, done: true });
  });
});
