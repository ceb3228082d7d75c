import twilio from 'twilio';
import type { CallControl } from '../session/session.js';
import type { CallStatus } from '../session/types.js';
import { CallstreamError } from '../errors.js';
import { TwilioApiError, twilioFailure } from './api-error.js';
import { isCallStatus } from './call-status.js';
import type { TwilioClient } from './client.js';

/** `<Response><Dial><Number>` (an E.164 number) or `<Dial><Sip>` (a `sip:`/`sips:` URI), built with the twilio helper. */
export function transferTwiml(target: string): string {
  const response = new twilio.twiml.VoiceResponse();
  const dial = response.dial();
  if (/^sips?:/i.test(target)) dial.sip(target);
  else dial.number(target);
  return response.toString();
}

/** `<Response><Say>sentence</Say><Hangup/></Response>`: says a sentence and hangs up. */
export function sayAndHangUpTwiml(sentence: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(sentence);
  response.hangup();
  return response.toString();
}

/**
 * Ends a call over REST (`status=completed`; a ringing call is canceled), or with `say`, replaces its
 * TwiML with `<Say>` and `<Hangup>` (Twilio stops the media stream, says it, and hangs up). Resolves
 * with the call's status afterwards, or undefined when Twilio has nothing left to end (404/20404, or
 * 21220 "not in progress"): the call is already over, which is what was wanted.
 */
export async function endCall(client: TwilioClient, callSid: string, say?: string): Promise<CallStatus | undefined> {
  try {
    const call = await client.calls(callSid).update(say === undefined ? { status: 'completed' } : { twiml: sayAndHangUpTwiml(say) });
    return isCallStatus(call.status) ? call.status : undefined;
  } catch (error) {
    const failure = twilioFailure(error, `hang up the call ${callSid}`);
    if (failure instanceof TwilioApiError && (failure.status === 404 || failure.twilioCode === 20404 || failure.twilioCode === 21220)) return undefined;
    throw failure;
  }
}

/** A call's status as Twilio's REST API has it now (`calls(sid).fetch()`); TWILIO_ERROR when it cannot say. */
export async function fetchCallStatus(client: TwilioClient, callSid: string): Promise<CallStatus | undefined> {
  try {
    const call = await client.calls(callSid).fetch();
    return isCallStatus(call.status) ? call.status : undefined;
  } catch (error) {
    throw twilioFailure(error, `look up the call ${callSid}`);
  }
}

/**
 * Replaces a live call's TwiML with a `<Dial>` to `target` (an E.164 number or a SIP URI, else
 * BAD_REQUEST before anything is sent); Twilio ends the media stream and dials.
 */
export async function transferCall(client: TwilioClient, callSid: string, target: string): Promise<void> {
  if (!/^\+[1-9]\d{6,14}$/.test(target) && !/^sips?:[^\s<>"]+$/.test(target)) {
    throw new CallstreamError('BAD_REQUEST', `transfer(): "${target}" is neither an E.164 number (+15551234567) nor a SIP URI (sip:alice@example.com).`);
  }
  try {
    await client.calls(callSid).update({ twiml: transferTwiml(target) });
  } catch (error) {
    throw twilioFailure(error, `transfer the call ${callSid} to ${target}`);
  }
}

/** What the Session's `hangUp()` and `transfer()` do to a phone call through Twilio's REST API. */
export function twilioCallControl(client: TwilioClient, callSid: string): CallControl {
  return {
    hangUp: async (say) => void (await endCall(client, callSid, say)),
    transfer: (target) => transferCall(client, callSid, target),
  };
}
