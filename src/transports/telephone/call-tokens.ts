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
 * TwiML, taken once by the stream's `start`, and forgotten (its place freed) if no stream comes. A
 * CallSid has at most one token waiting: a repeated webhook gets the same one (`waitingFor`).
 */
export class CallTokens {
  private readonly pending = new Map<string, { call: PendingCall; expiry: TimerHandle }>();
  private readonly byCallSid = new Map<string, string>();

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
      this.forget(token, call);
      call.slot.release();
    });
    this.pending.set(token, { call, expiry });
    if (call.call.callSid) this.byCallSid.set(call.call.callSid, token);
    return token;
  }

  /** The token (and what it stands for) still waiting for the stream of `callSid`, if any. */
  waitingFor(callSid: string | undefined): { token: string; call: PendingCall } | undefined {
    const token = callSid === undefined ? undefined : this.byCallSid.get(callSid);
    const entry = token === undefined ? undefined : this.pending.get(token);
    return entry && { token: token!, call: entry.call };
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
    this.forget(token, entry.call);
    entry.expiry.cancel();
    return entry.call;
  }

  private forget(token: string, call: PendingCall): void {
    this.pending.delete(token);
    const callSid = call.call.callSid;
    if (callSid && this.byCallSid.get(callSid) === token) this.byCallSid.delete(callSid);
  }

  /** Frees every pending place (shutdown). */
  clear(): void {
    for (const { call, expiry } of this.pending.values()) {
      expiry.cancel();
      call.slot.release();
    }
    this.pending.clear();
    this.byCallSid.clear();
  }
}
