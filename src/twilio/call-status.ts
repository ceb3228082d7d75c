import type { CallStatus, CallStatusEvent, StreamStatusEvent } from '../session/types.js';

const CALL_STATUSES: readonly CallStatus[] = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'];
const STREAM_EVENTS: readonly StreamStatusEvent['event'][] = ['stream-started', 'stream-stopped', 'stream-error'];

/** Statuses after which a call is over. */
export const FINAL_CALL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'failed', 'no-answer', 'canceled'];

/** True once a call is over: completed, busy, failed, no-answer or canceled. */
export function isFinalCallStatus(status: CallStatus): boolean {
  return FINAL_CALL_STATUSES.includes(status);
}

/** True for Twilio's CallStatus values. */
export function isCallStatus(value: string | undefined): value is CallStatus {
  return CALL_STATUSES.includes(value as CallStatus);
}

/** What one status callback request carries: a call status change, a media stream event, or neither. */
export type StatusCallback =
  | { kind: 'call'; callSid: string; event: CallStatusEvent }
  | { kind: 'stream'; callSid: string; event: StreamStatusEvent }
  | { kind: 'unknown'; callSid: string | undefined; reason: string };

/**
 * Reads a Twilio status callback's parameters: a call status callback (`CallStatus`, `AnsweredBy`,
 * `CallDuration`, `SequenceNumber`) or a `<Stream statusCallback>` event (`StreamEvent`,
 * `StreamSid`, `StreamError`).
 */
export function parseStatusCallback(params: Record<string, string>): StatusCallback {
  const callSid = params.CallSid || undefined;
  if (!callSid) return { kind: 'unknown', callSid, reason: 'no CallSid' };
  if (params.StreamEvent !== undefined) {
    const event = params.StreamEvent as StreamStatusEvent['event'];
    if (!STREAM_EVENTS.includes(event)) return { kind: 'unknown', callSid, reason: `unknown StreamEvent "${params.StreamEvent.slice(0, 40)}"` };
    return {
      kind: 'stream',
      callSid,
      event: omitUndefined({ event, streamSid: params.StreamSid, streamName: params.StreamName, error: params.StreamError, params }),
    };
  }
  const status = params.CallStatus;
  if (!isCallStatus(status)) {
    return { kind: 'unknown', callSid, reason: status === undefined ? 'neither CallStatus nor StreamEvent' : `unknown CallStatus "${status.slice(0, 40)}"` };
  }
  return {
    kind: 'call',
    callSid,
    event: omitUndefined({
      status,
      answeredBy: params.AnsweredBy || undefined,
      durationS: numberOrUndefined(params.CallDuration),
      sequence: numberOrUndefined(params.SequenceNumber),
      params,
    }),
  };
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function omitUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
