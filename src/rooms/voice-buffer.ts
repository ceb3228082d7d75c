/**
 * One participant's voice between its transport and the room's tick: a small jitter buffer of PCM
 * samples at the room's rate. Frames arrive when the network delivers them; the tick takes one
 * 20 ms frame. A sender that bursts is held back at most `maxFrames`; a depth that stays above one
 * frame for a second is trimmed by a frame, so latency drifts back down after a burst.
 */
export class VoiceBuffer {
  private readonly ring: Int16Array;
  private start = 0;
  private length = 0;
  /** Consecutive ticks that found more than one frame waiting. */
  private deepTicks = 0;
  /** Samples dropped (overflow or trimming). */
  dropped = 0;
  /** Ticks that found less than a frame (the sender was late, or silent). */
  underruns = 0;

  constructor(
    readonly frameSamples: number,
    readonly maxFrames = 3,
    /** Ticks with more than a frame waiting after which one frame is dropped. */
    private readonly trimAfterTicks = 50,
  ) {
    this.ring = new Int16Array(frameSamples * maxFrames);
  }

  /** Samples waiting. */
  get size(): number {
    return this.length;
  }

  push(samples: Int16Array): void {
    const capacity = this.ring.length;
    let data = samples;
    if (data.length > capacity) {
      this.dropped += data.length - capacity;
      data = data.subarray(data.length - capacity);
    }
    const overflow = this.length + data.length - capacity;
    if (overflow > 0) this.discard(overflow);
    const end = (this.start + this.length) % capacity;
    const first = Math.min(data.length, capacity - end);
    this.ring.set(data.subarray(0, first), end);
    if (first < data.length) this.ring.set(data.subarray(first), 0);
    this.length += data.length;
  }

  /** Takes one frame into `out`; false (and `out` untouched) when less than a frame waits. */
  take(out: Int16Array): boolean {
    const n = this.frameSamples;
    if (this.length < n) {
      this.underruns++;
      this.deepTicks = 0;
      return false;
    }
    this.deepTicks = this.length >= 2 * n ? this.deepTicks + 1 : 0;
    if (this.deepTicks >= this.trimAfterTicks) {
      this.discard(n);
      this.deepTicks = 0;
    }
    const capacity = this.ring.length;
    const first = Math.min(n, capacity - this.start);
    out.set(this.ring.subarray(this.start, this.start + first), 0);
    if (first < n) out.set(this.ring.subarray(0, n - first), first);
    this.start = (this.start + n) % capacity;
    this.length -= n;
    return true;
  }

  /** Drops everything waiting (a DTMF tone, a participant muted). */
  clear(): void {
    this.dropped += this.length;
    this.start = 0;
    this.length = 0;
  }

  private discard(count: number): void {
    const n = Math.min(count, this.length);
    this.start = (this.start + n) % this.ring.length;
    this.length -= n;
    this.dropped += n;
  }
}
