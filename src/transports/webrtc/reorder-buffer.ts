/** One RTP payload, in order, or a hole where a packet was lost. */
export type OrderedPacket =
  | { kind: 'packet'; payload: Uint8Array; timestamp: number }
  /** A packet that never came: conceal it. */
  | { kind: 'lost'; timestamp: number }
  /** The sender sent nothing for a packet's time (silence suppression): play silence. */
  | { kind: 'silence'; timestamp: number };

export interface ReorderOptions {
  /** Packets held after a gap, waiting for the missing one, before it is declared lost. */
  maxHold: number;
  /** RTP timestamp units per 20 ms packet (960 for Opus, 160 for PCMU). */
  samplesPerPacket: number;
  /** Longest timestamp jump (in packets) filled as loss/silence, e.g. after DTX; beyond it is a restart. */
  maxFill: number;
}

const HALF = 0x8000;

/** Sequence-number distance a→b with 16-bit wrap-around (positive when b is after a). */
export function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= HALF ? d - 0x10000 : d;
}

/**
 * werift delivers RTP in network order with no jitter buffer. This puts packets back in sequence
 * order, adding no delay while they arrive in order; after a gap it holds up to `maxHold` packets
 * for the late one, then reports the hole as lost (for concealment). Timestamp jumps with
 * contiguous sequence numbers (silence suppression) become silence, so the handler's input stays
 * continuous.
 */
export class ReorderBuffer {
  private expected: number | undefined;
  private nextTimestamp: number | undefined;
  private readonly held = new Map<number, { payload: Uint8Array; timestamp: number }>();
  lost = 0;
  late = 0;
  reordered = 0;

  constructor(
    private readonly options: ReorderOptions,
    private readonly emit: (packet: OrderedPacket) => void,
  ) {}

  push(sequenceNumber: number, timestamp: number, payload: Uint8Array): void {
    if (this.expected === undefined) {
      this.expected = sequenceNumber;
      this.nextTimestamp = timestamp;
    }
    const distance = seqDelta(this.expected, sequenceNumber);
    if (distance < 0) {
      this.late++; // already played or concealed: too late to use
      return;
    }
    if (distance > 1000) {
      // The sender restarted its sequence: start over from here.
      this.flush();
      this.expected = sequenceNumber;
      this.nextTimestamp = timestamp;
    }
    if (distance > 0) this.reordered++;
    this.held.set(sequenceNumber, { payload, timestamp });
    this.release();
  }

  /** Emits everything held, declaring the holes lost (end of stream). */
  flush(): void {
    while (this.held.size > 0) this.step(true);
  }

  private release(): void {
    for (;;) {
      const expected = this.expected!;
      if (this.held.has(expected)) {
        this.step(false);
      } else if (this.held.size > this.options.maxHold) {
        this.step(true);
      } else {
        return;
      }
    }
  }

  /** Emits the expected packet (or declares it lost) and advances. */
  private step(allowLoss: boolean): void {
    const expected = this.expected!;
    const packet = this.held.get(expected);
    if (packet) {
      this.held.delete(expected);
      this.fillTimestampGap(packet.timestamp);
      this.emit({ kind: 'packet', payload: packet.payload, timestamp: packet.timestamp });
      this.nextTimestamp = (packet.timestamp + this.options.samplesPerPacket) >>> 0;
    } else if (allowLoss) {
      this.lost++;
      const timestamp = this.nextTimestamp ?? 0;
      this.emit({ kind: 'lost', timestamp });
      this.nextTimestamp = (timestamp + this.options.samplesPerPacket) >>> 0;
    }
    this.expected = (expected + 1) & 0xffff;
  }

  private fillTimestampGap(timestamp: number): void {
    if (this.nextTimestamp === undefined) return;
    const gap = ((timestamp - this.nextTimestamp) | 0) / this.options.samplesPerPacket;
    if (gap < 1 || gap > this.options.maxFill) return;
    for (let i = 0; i < Math.floor(gap); i++) {
      this.emit({ kind: 'silence', timestamp: (this.nextTimestamp + i * this.options.samplesPerPacket) >>> 0 });
    }
  }
}
