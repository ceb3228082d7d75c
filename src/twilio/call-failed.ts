import { CallstreamError } from '../errors.js';
import type { CallStatus } from '../session/types.js';

/** How a call that never reached the handler failed. */
export type CallFailureReason = 'busy' | 'no-answer' | 'failed' | 'canceled' | 'completed' | 'timeout';

/** An outbound call that never connected its media stream: busy, not answered, failed, canceled, ended first, or no news in time. */
export class CallFailedError extends CallstreamError {
  readonly callSid: string;
  readonly reason: CallFailureReason;
  /** The call's last known status. */
  readonly callStatus: CallStatus;

  constructor(call: { sid: string; to: string; status: CallStatus }, reason: CallFailureReason, detail?: string) {
    const [what, hint] = describeFailure(call.to, reason);
    super('CALL_FAILED', `The call to ${call.to} ${detail ?? what} (${call.sid}).`, { hint });
    this.name = 'CallFailedError';
    this.callSid = call.sid;
    this.reason = reason;
    this.callStatus = call.status;
  }
}

function describeFailure(to: string, reason: CallFailureReason): [string, string] {
  switch (reason) {
    case 'busy':
      return ['was busy', 'try again later.'];
    case 'no-answer':
      return ['was not answered', 'try again later, or let it ring longer (timeout).'];
    case 'failed':
      return ['failed: Twilio could not place it', `check the number ${to}, the caller ID, and the account's geographic permissions (Voice > Settings); the Twilio console's call log says why.`];
    case 'canceled':
      return ['was canceled before it was answered', 'it was hung up while ringing.'];
    case 'completed':
      return ['ended before its media stream connected', 'check that Twilio reaches the public URL (the webhook and the media stream) and the logs for a refused webhook.'];
    case 'timeout':
      return ['got no answer nor status in time, and was hung up', 'check that Twilio reaches the public URL: its status callbacks and webhook go there.'];
  }
}
