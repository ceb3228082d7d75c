import type { RateBucket } from '../coordination/coordination.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Session } from '../session/session.js';
import { WrongPinError } from './room-pin.js';

/** What a session hung up for wrong PINs hears (a phone call with REST credentials) or is sent. */
export const TOO_MANY_WRONG_PINS = 'Too many wrong PINs. Goodbye.';

/**
 * Wrong PINs, so that a room's PIN cannot be guessed: a session may present `perSession` wrong ones
 * (it is hung up at the last), and a client address (browsers and programs; a phone call's address
 * is Twilio's) a budget shared by the whole deployment. Counts die with their session; the budget's
 * keys are the coordination's rate buckets (bounded, expiring).
 */
export class PinAttempts {
  private readonly wrong = new WeakMap<Session, number>();

  constructor(
    private readonly perSession: number,
    private readonly perAddress: RateBucket | undefined,
    private readonly addressKey: (address: string) => string,
    private readonly log: Logger,
  ) {}

  /** Before a join that presents a PIN: refuses a session (BAD_PIN) or address (RATE_LIMITED) out of tries. */
  async allow(session: Session): Promise<void> {
    if ((this.wrong.get(session) ?? 0) >= this.perSession) {
      throw new WrongPinError('Too many wrong PINs.', 0);
    }
    const key = this.keyOf(session);
    if (key !== undefined && this.perAddress && (await this.perAddress.retryAfterMs(key)) > 0) {
      throw new CallstreamError('RATE_LIMITED', 'Too many wrong PINs from this address: try again later.');
    }
  }

  /** A wrong PIN: counted for the session and its address; at the session's limit it is hung up. Resolves with the tries left. */
  async failed(session: Session): Promise<number> {
    const count = (this.wrong.get(session) ?? 0) + 1;
    this.wrong.set(session, count);
    this.log.debug({ sessionId: session.id, transport: session.transport, wrongPins: count }, 'room: a wrong PIN');
    const key = this.keyOf(session);
    if (key !== undefined && this.perAddress) await this.perAddress.hit(key);
    if (count >= this.perSession) {
      this.log.info({ sessionId: session.id, transport: session.transport }, `room: ${count} wrong PINs; hanging up`);
      void session.hangUp({ say: TOO_MANY_WRONG_PINS });
    }
    return this.left(session);
  }

  /** Wrong PINs this session has left. */
  left(session: Session): number {
    return Math.max(0, this.perSession - (this.wrong.get(session) ?? 0));
  }

  private keyOf(session: Session): string | undefined {
    const address = session.facts.remoteAddress;
    return session.transport === 'telephone' || !address ? undefined : this.addressKey(address);
  }
}
