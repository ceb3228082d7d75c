/** Machine-readable error codes; every error callstream raises carries one. */
export type ErrorCode =
  | 'BAD_PIN'
  | 'BAD_REQUEST'
  | 'BAD_SIGNATURE'
  | 'CALL_FAILED'
  | 'CONCURRENCY_LIMIT'
  | 'CONFIG_ERROR'
  | 'CONNECTION_LIMIT'
  | 'COORDINATION_UNAVAILABLE'
  | 'HANDLER_ERROR'
  | 'NOT_FOUND'
  | 'PROTOCOL_ERROR'
  | 'RATE_LIMITED'
  | 'ROOM_FULL'
  | 'ROOM_LIMIT'
  | 'ROOM_NOT_FOUND'
  | 'ROOM_PIN_REQUIRED'
  | 'SESSION_CLOSED'
  | 'TIME_LIMIT'
  | 'TUNNEL_ERROR'
  | 'TWILIO_ERROR'
  | 'UNSUPPORTED';

/**
 * The one error type of callstream: a message for people, a `code` for programs, and optionally a
 * `hint` (what to do about it; the CLI prints it on its own line).
 */
export class CallstreamError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.name = 'CallstreamError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isCallstreamError(err: unknown, code?: ErrorCode): err is CallstreamError {
  return err instanceof CallstreamError && (code === undefined || err.code === code);
}

/** A short description of anything thrown, for logs and close reasons. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
