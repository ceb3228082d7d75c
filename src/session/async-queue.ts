/**
 * A bounded single-consumer queue that is also an async iterable. When full, the oldest item is
 * dropped (real-time audio: the newest frame matters most) and counted.
 */
export class DroppingQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private closed = false;
  dropped = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds an item; returns false when an older item had to be dropped to make room. */
  push(item: T): boolean {
    if (this.closed) return true;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter({ value: item, done: false });
      return true;
    }
    let kept = true;
    if (this.size >= this.capacity) {
      this.head++;
      this.dropped++;
      kept = false;
    }
    this.items.push(item);
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return kept;
  }

  /** Takes the next item without waiting. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return item;
  }

  /** Waits for the next item; resolves done once closed and empty. */
  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) return Promise.resolve({ value: this.shift() as T, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  close(): void {
    this.closed = true;
    this.clear();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
