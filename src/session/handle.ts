import type { CallFacts, EndReason, StopInfo, TransportKind } from './types.js';

/**
 * A session as seen from anywhere in the deployment: a `Session` on its own instance, a
 * `RemoteSession` on another (an outbound call answered elsewhere). Both can be ended and hung up.
 */
export interface SessionHandle {
  readonly id: string;
  readonly transport: TransportKind;
  /** What was known when the handle was made (a remote one is a snapshot). */
  readonly facts: CallFacts;
  /** Resolves when the session has ended. */
  readonly ended: Promise<StopInfo>;
  /** Hangs up (a phone call over Twilio's REST API when the Stream has credentials). */
  hangUp(): Promise<void>;
  /** Ends the session now. */
  end(reason: EndReason, message?: string): void;
}
