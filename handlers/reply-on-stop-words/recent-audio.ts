/** The last `capacity` samples of a stream, in a ring: appending costs no allocation. */
export class RecentAudio {
  private readonly ring: Int16Array;
  private write = 0;
  private held = 0;

  constructor(capacity: number) {
    this.ring = new Int16Array(capacity);
  }

  /** Samples held (at most the capacity). */
  get length(): number {
    return this.held;
  }

  append(samples: Int16Array): void {
    const capacity = this.ring.length;
    const input = samples.length > capacity ? samples.subarray(samples.length - capacity) : samples;
    const first = Math.min(input.length, capacity - this.write);
    this.ring.set(input.subarray(0, first), this.write);
    this.ring.set(input.subarray(first), 0);
    this.write = (this.write + input.length) % capacity;
    this.held = Math.min(capacity, this.held + input.length);
  }

  clear(): void {
    this.held = 0;
  }

  /**
   * A copy of the samples from `start` to `end` (stream positions), the stream being at `now`; what
   * is no longer held is left out of the start.
   */
  range(now: number, start: number, end: number): Int16Array {
    const from = Math.max(start, now - this.held);
    const to = Math.min(end, now);
    const count = Math.max(0, to - from);
    const out = new Int16Array(count);
    const capacity = this.ring.length;
    const begin = (((this.write - (now - from)) % capacity) + capacity) % capacity;
    const first = Math.min(count, capacity - begin);
    out.set(this.ring.subarray(begin, begin + first));
    out.set(this.ring.subarray(0, count - first), first);
    return out;
  }
}
