import { CALL_MEMORY_MS } from '../../coordination/coordination.js';
import { describeError } from '../../errors.js';
import type { ResolvedOptions } from '../../options.js';
import { fetchCallStatus } from '../../twilio/call-control.js';

/**
 * How long a CallSid is remembered once announced, and again from its call's end: the call token's
 * lifetime plus CALL_MEMORY_MS (an hour). A webhook for it meanwhile is served only for a live call.
 */
export function callMemoryMs(options: ResolvedOptions): number {
  return options.telephone.connectTimeoutMs + CALL_MEMORY_MS;
}

/** How long the REST check may take (ms): Twilio waits 15 s for a webhook's answer. */
export const LIVENESS_CHECK_TIMEOUT_MS = 5000;

/** Whether a webhook for a CallSid whose earlier stream is over comes from a call that is still live. */
export type Liveness = { live: true; confirmedBy: 'twilio' | 'webhook' } | { live: false; why: string };

/**
 * Twilio signs no timestamp, so a captured webhook stays valid after its call: one for a CallSid
 * announced before is served again only when it says `CallStatus=in-progress` (a `<Redirect>`, a
 * `<Dial action>` back to the webhook) and, where the Stream has Twilio REST credentials, Twilio's
 * API says so too, within LIVENESS_CHECK_TIMEOUT_MS. Without credentials the webhook's word is taken
 * (a weaker guarantee).
 */
export async function stillLive(options: ResolvedOptions, callSid: string, callStatus: string | undefined): Promise<Liveness> {
  if (callStatus !== 'in-progress') return { live: false, why: `CallStatus is ${callStatus === undefined ? 'missing' : JSON.stringify(callStatus.slice(0, 20))}, not in-progress` };
  const client = options.twilioClient;
  if (!client) return { live: true, confirmedBy: 'webhook' };
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${LIVENESS_CHECK_TIMEOUT_MS} ms`)), LIVENESS_CHECK_TIMEOUT_MS);
  });
  try {
    const status = await Promise.race([fetchCallStatus(client, callSid), slow]);
    return status === 'in-progress' ? { live: true, confirmedBy: 'twilio' } : { live: false, why: `Twilio says the call is ${status ?? 'in an unknown state'}` };
  } catch (error) {
    return { live: false, why: `Twilio could not confirm the call is live: ${describeError(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
