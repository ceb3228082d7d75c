/** Machine-readable error codes; every error callstream raises carries one. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'BAD_SIGNATURE'
  | 'CONCURRENCY_LIMIT'
  | 'CONFIG_ERROR'
  | 'HANDLER_ERROR'
  | 'NOT_FOUND'
  | 'PROTOCOL_ERROR'
  | 'SESSION_CLOSED'
  | 'TIME_LIMIT'
  | 'UNSUPPORTED';

/** The one error type of callstream: a message for people, a `code` for programs. */
export class CallstreamError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CallstreamError';
    this.code = code;
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
