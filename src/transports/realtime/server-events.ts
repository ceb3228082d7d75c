import { randomBytes } from 'node:crypto';
import type { SocketWriter } from '../socket-writer.js';

/** Which event names the client expects: the current (GA) protocol's, or the beta's. */
export type Dialect = 'ga' | 'beta';

/** An id as the API writes them: a prefix and random characters (`resp_...`, `item_...`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** An `error` event's details, as the API sends them. */
export interface RealtimeErrorDetails {
  /** `invalid_request_error` for what the client sent, `server_error` for what went wrong here. */
  type: 'invalid_request_error' | 'server_error';
  code: string | null;
  message: string;
  param?: string | null;
  /** The client event this is about, when it had an `event_id`. */
  eventId?: string | null;
}

/**
 * Server events to one Realtime client, through the connection's bounded writer: every event gets an
 * `event_id`, and names follow the client's dialect where GA and beta differ.
 */
export class ServerEvents {
  private seq = 0;
  private readonly prefix = randomBytes(6).toString('hex');

  constructor(
    private readonly writer: SocketWriter,
    public dialect: Dialect,
  ) {}

  send(type: string, fields: Record<string, unknown> = {}): void {
    this.writer.send(JSON.stringify({ type, event_id: this.eventId(), ...fields }));
  }

  /** Several events in one write. */
  sendTogether(events: readonly [type: string, fields: Record<string, unknown>][]): void {
    this.writer.sendTogether(events.map(([type, fields]) => JSON.stringify({ type, event_id: this.eventId(), ...fields })));
  }

  /** One audio delta (the hot path: no object built, ids and base64 need no escaping). */
  audioDelta(responseId: string, itemId: string, base64: string): void {
    const type = this.dialect === 'ga' ? 'response.output_audio.delta' : 'response.audio.delta';
    this.writer.send(`{"type":"${type}","event_id":"${this.eventId()}","response_id":"${responseId}","item_id":"${itemId}","output_index":0,"content_index":0,"delta":"${base64}"}`);
  }

  error(details: RealtimeErrorDetails): void {
    this.send('error', { error: errorObject(details) });
  }

  /** A name that differs between GA and beta. */
  name(ga: string, beta: string): string {
    return this.dialect === 'ga' ? ga : beta;
  }

  private eventId(): string {
    return `event_${this.prefix}${(++this.seq).toString(36)}`;
  }
}

/** The `error` object of an error event. */
export function errorObject(details: RealtimeErrorDetails): Record<string, unknown> {
  return { type: details.type, code: details.code, message: details.message, param: details.param ?? null, event_id: details.eventId ?? null };
}
