import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../clock.js';
import type { IncomingCall } from '../../options.js';
import type { Slot } from '../../session/registry.js';

/** What the webhook left for the media stream that should follow it. */
export interface PendingCall {
  call: IncomingCall;
  slot: Slot;
  parameters: Record<string, string>;
}

/**
 * One-time tokens tying a media stream to the webhook that announced it. A token is issued with the
 * TwiML, taken once by the stream's `start`, and forgotten (its place freed) if no stream comes.
 */
export class CallTokens {
  private readonly pending = new Map<string, { call: PendingCall; expiry: TimerHandle }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  issue(call: PendingCall): string {
    const token = randomBytes(24).toString('base64url');
    const expiry = this.clock.after(this.ttlMs, () => {
      this.pending.delete(token);
      call.slot.release();
    });
    this.pending.set(token, { call, expiry });
    return token;
  }

  /**
   * Takes the call a token stands for; a token works once, and only for its own call: when the
   * webhook knew the CallSid, the stream must carry the same one. A token presented with another
   * call's CallSid (or none) is refused and left in place for its own stream.
   */
  take(token: string | undefined, callSid: string | undefined): PendingCall | 'other_call' | undefined {
    if (!token) return undefined;
    const entry = this.pending.get(token);
    if (!entry) return undefined;
    const expected = entry.call.call.callSid;
    if (expected && expected !== callSid) return 'other_call';
    this.pending.delete(token);
    entry.expiry.cancel();
    return entry.call;
  }

  /** Frees every pending place (shutdown). */
  clear(): void {
    for (const { call, expiry } of this.pending.values()) {
      expiry.cancel();
      call.slot.release();
    }
    this.pending.clear();
  }
}
