import { expect } from 'chai';
import { AUTH_TOKEN, PUBLIC_URL, type TestServer } from './server.js';
import { postWebhook, sid, TwilioMediaStream } from './twilio-call.js';

/**
 * A phone call that keeps talking (a 20 ms μ-law frame every 20 ms) to an echo handler while other
 * tests abuse the same server; it records when echoed audio comes back, so a test can prove the
 * call kept its audio during and after whatever ran beside it.
 */
export class HealthyCall {
  private timer: NodeJS.Timeout | undefined;
  private constructor(readonly call: TwilioMediaStream) {}

  /** Dials through the signed webhook, starts the stream and starts talking. */
  static async dial(server: TestServer): Promise<HealthyCall> {
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550001234' } });
    expect(hook.streamUrl, hook.body).to.be.a('string');
    const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(hook.parameters);
    const healthy = new HealthyCall(call);
    let n = 0;
    healthy.timer = setInterval(() => {
      if (call.isOpen) call.sendMedia(Buffer.alloc(160, 0x20 + (n++ % 64)));
    }, 20);
    await call.waitFor(() => call.media.length > 0, 3000, 'the healthy call to start echoing');
    return healthy;
  }

  /** Echoed frames so far. */
  get echoed(): number {
    return this.call.media.length;
  }

  /** The longest silence between echoed frames since `from` (performance.now() ms), up to now. */
  longestGapSince(from: number): number {
    let last = from;
    let longest = 0;
    for (const { at } of this.call.media) {
      if (at < from) continue;
      longest = Math.max(longest, at - last);
      last = at;
    }
    return Math.max(longest, performance.now() - last);
  }

  /** Asserts the call is open and its echo came back since `from`, with no silence over `maxGapMs`. */
  async expectAlive(from: number, maxGapMs = 1500): Promise<void> {
    const before = this.echoed;
    await this.call.waitFor(() => this.echoed > before + 5, 3000, 'echo from the healthy call');
    expect(this.call.isOpen, 'the healthy call is still open').to.equal(true);
    expect(this.longestGapSince(from), 'longest silence of the healthy call (ms)').to.be.below(maxGapMs);
  }

  /** Hangs up (stop), and waits for the socket to close. */
  async hangUp(): Promise<void> {
    clearInterval(this.timer);
    if (this.call.isOpen) {
      this.call.sendStop();
      await this.call.closed;
    }
    this.call.close();
  }
}
