import type { EndReason } from '../session/types.js';

/** Wire patterns and helpers shared by the transports. */

/** Client-chosen session ids (FastRTC's webrtc_id / websocket_id): short and plain, so they are safe in logs and URLs. */
export const CLIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** One DTMF key as every transport carries it: 0-9, *, #, A-D. */
export function isDtmfDigit(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9*#A-D]$/.test(value);
}

/**
 * Decodes standard base64, refusing anything that is not (Buffer.from skips bad characters
 * silently, so the decoded length gives them away). Returns undefined for invalid input.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}

/** Base64 of a typed array's bytes without copying them. */
export function encodeBase64(data: Uint8Array | Int16Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Parses a text frame as a JSON object; undefined when it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A WebSocket close reason must fit in 123 bytes. */
export function closeReason(message: string): string {
  const buffer = Buffer.from(message, 'utf8');
  return buffer.length <= 123 ? message : buffer.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
}

/** WebSocket close codes used by callstream (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;

/** Close code for each way a session can end. */
export function closeCodeFor(reason: EndReason): number {
  switch (reason) {
    case 'protocol_error':
      return CloseCode.protocolError;
    case 'handler_error':
      return CloseCode.internalError;
    case 'server_shutdown':
      return CloseCode.goingAway;
    default:
      return CloseCode.normal;
  }
}
