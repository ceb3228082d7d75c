import { CallstreamError } from '../errors.js';

/** A failed Twilio REST request: HTTP status and Twilio's error code when the API answered. */
export class TwilioApiError extends CallstreamError {
  /** HTTP status, when the API answered. */
  readonly status: number | undefined;
  /** Twilio's error code (20003 authentication, 20404 not found, ...), when the API answered. */
  readonly twilioCode: number | undefined;
  readonly moreInfo: string | undefined;

  constructor(message: string, details: { status?: number; twilioCode?: number; moreInfo?: string; hint?: string; cause?: unknown }) {
    super('TWILIO_ERROR', message, { cause: details.cause, hint: details.hint });
    this.name = 'TwilioApiError';
    this.status = details.status;
    this.twilioCode = details.twilioCode;
    this.moreInfo = details.moreInfo;
  }
}

interface ApiFailure {
  status: number;
  code?: number;
  message?: string;
  moreInfo?: string;
  detail?: string;
  title?: string;
}

/**
 * Turns what the twilio helper threw while `doing` something (e.g. "list the account's phone
 * numbers") into a TwilioApiError with one clear line and a hint: RestException and
 * TwilioServiceException (the API answered) and network failures (it did not).
 */
export function twilioFailure(error: unknown, doing: string): CallstreamError {
  if (error instanceof CallstreamError) return error;
  if (isApiFailure(error)) {
    const text = error.detail ?? error.message ?? error.title ?? 'no message';
    const code = error.code === undefined ? '' : `, error ${error.code}`;
    return new TwilioApiError(`Twilio refused to ${doing}: ${text} (HTTP ${error.status}${code}).`, {
      status: error.status,
      twilioCode: error.code,
      moreInfo: error.moreInfo,
      hint: hintFor(error),
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TwilioApiError(`Could not reach the Twilio API to ${doing}: ${message}.`, {
    hint: 'check the network (and TWILIO_API_BASE_URL, TWILIO_REGION, TWILIO_EDGE if set).',
    cause: error,
  });
}

function hintFor(failure: ApiFailure): string {
  if (failure.status === 401 || failure.code === 20003) {
    return 'check TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET of that same account).';
  }
  if (failure.status === 404 || failure.code === 20404) {
    return 'the resource is not in this account: check the SID or number, and that TWILIO_ACCOUNT_SID is the account that owns it.';
  }
  if (failure.status === 429) return 'Twilio is rate-limiting this account: wait a little and try again.';
  if (failure.moreInfo) return `see ${failure.moreInfo}`;
  return 'see the Twilio console\'s error log (Monitor > Logs > Errors).';
}

function isApiFailure(error: unknown): error is ApiFailure & Error {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}
