import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import type { TransportLink } from '../../session/session.js';
import type { ClientMessage, EndReason, PlayedEvent } from '../../session/types.js';
import type { SocketWriter } from '../socket-writer.js';
import { closeCodeFor } from '../wire.js';
import type { WireAudio } from './audio-format.js';
import { newId, type ServerEvents } from './server-events.js';

/** A response in flight: what the handler says from one silence to the next (or until cut). */
interface OpenResponse {
  id: string;
  /** Its assistant item, once audio came. */
  itemId: string | undefined;
}

type CancelReason = 'turn_detected' | 'client_cancelled';

/**
 * A Realtime client, seen from the session. The handler's audio becomes responses: one opens with
 * the first audio after a silence (or with the client's `response.create`) and is done once that
 * audio has played by the clock, or `cancelled` when playback is interrupted. The log messages a
 * turn-taking handler sends (ReplyOnPause's `started_talking`, `pause_detected`) become
 * `input_audio_buffer.speech_started`, `speech_stopped` and `committed`.
 */
export class RealtimeLink implements TransportLink {
  readonly kind = 'websocket' as const;
  /** The client cannot answer `send_input`: the session does not wait for it. */
  readonly hasClient = false;
  private response: OpenResponse | undefined;
  private cancelReason: CancelReason = 'turn_detected';
  /** The user item of the speech in progress (between speech_started and speech_stopped). */
  private speechItem: string | undefined;
  /** The latest item of the conversation, for `previous_item_id`. */
  private lastItem: string | null = null;

  constructor(
    private readonly events: ServerEvents,
    private readonly writer: SocketWriter,
    private readonly audio: WireAudio,
    /** Audio received from the client so far (ms), for the speech events' timestamps. */
    private readonly inputMs: () => number,
  ) {}

  get format(): AudioFormat {
    return this.audio.sessionInput;
  }

  get outputFormat(): AudioFormat {
    return this.audio.sessionOutput;
  }

  /** True while a response is open. */
  get responding(): boolean {
    return this.response !== undefined;
  }

  sendAudio(frame: AudioFrame): void {
    const response = this.response ?? this.openResponse();
    const itemId = response.itemId ?? this.openItem(response);
    this.events.audioDelta(response.id, itemId, this.audio.encode(frame).toString('base64'));
  }

  /** Playback was interrupted: the response in flight is cancelled. */
  clear(): void {
    this.closeResponse('cancelled', this.cancelReason);
  }

  /** The session's playback progress: a response is done once its audio has played. */
  played(event: PlayedEvent): void {
    if (event.idle) this.closeResponse('completed');
  }

  /** The client's `response.create`: a response opens now; the handler's next audio is its audio. */
  requestResponse(): boolean {
    if (this.response) return false;
    this.openResponse();
    return true;
  }

  /**
   * The client's `response.cancel`: `interrupt` drops what is queued (and, through `clear`, cancels
   * the response); a response with no audio yet is cancelled here. False when none was in flight.
   */
  cancel(interrupt: () => void): boolean {
    if (!this.response) return false;
    this.cancelReason = 'client_cancelled';
    interrupt();
    this.closeResponse('cancelled', 'client_cancelled');
    this.cancelReason = 'turn_detected';
    return true;
  }

  /** The client committed its input audio: the user item it makes. */
  commit(): string {
    const itemId = this.speechItem ?? newId('item');
    this.speechItem = undefined;
    this.events.send('input_audio_buffer.committed', { previous_item_id: this.lastItem, item_id: itemId });
    this.lastItem = itemId;
    return itemId;
  }

  sendMessage(message: ClientMessage): void {
    if (message.type === 'log' && message.data === 'started_talking') {
      this.speechItem = newId('item');
      this.events.send('input_audio_buffer.speech_started', { audio_start_ms: Math.round(this.inputMs()), item_id: this.speechItem });
    } else if (message.type === 'log' && message.data === 'pause_detected') {
      this.speechItem ??= newId('item');
      this.events.send('input_audio_buffer.speech_stopped', { audio_end_ms: Math.round(this.inputMs()), item_id: this.speechItem });
      this.commit();
    } else if (message.type === 'error') {
      this.events.error({ type: 'server_error', code: null, message: message.message });
    }
  }

  close(reason: EndReason, message: string): void {
    this.closeResponse('cancelled', 'client_cancelled');
    if (reason === 'time_limit') this.events.error({ type: 'invalid_request_error', code: 'session_expired', message });
    if (reason === 'idle_timeout') this.events.error({ type: 'invalid_request_error', code: 'idle_timeout', message });
    this.writer.close(closeCodeFor(reason), message);
  }

  private openResponse(): OpenResponse {
    const response: OpenResponse = { id: newId('resp'), itemId: undefined };
    this.response = response;
    this.events.send('response.created', { response: this.responseObject(response, 'in_progress') });
    return response;
  }

  private openItem(response: OpenResponse): string {
    const itemId = newId('item');
    response.itemId = itemId;
    const item = this.item(itemId, 'in_progress');
    const at = { response_id: response.id, item_id: itemId, output_index: 0, content_index: 0 };
    this.events.sendTogether([
      ['response.output_item.added', { response_id: response.id, output_index: 0, item }],
      [this.events.name('conversation.item.added', 'conversation.item.created'), { previous_item_id: this.lastItem, item }],
      ['response.content_part.added', { ...at, part: { type: 'audio', transcript: '' } }],
    ]);
    this.lastItem = itemId;
    return itemId;
  }

  private closeResponse(status: 'completed' | 'cancelled', reason?: CancelReason): void {
    const response = this.response;
    if (!response) return;
    this.response = undefined;
    const done: [string, Record<string, unknown>][] = [];
    if (response.itemId) {
      const at = { response_id: response.id, item_id: response.itemId, output_index: 0, content_index: 0 };
      const item = this.item(response.itemId, status === 'completed' ? 'completed' : 'incomplete');
      done.push(
        [this.events.name('response.output_audio.done', 'response.audio.done'), at],
        ['response.content_part.done', { ...at, part: { type: 'audio', transcript: '' } }],
        ['response.output_item.done', { response_id: response.id, output_index: 0, item }],
      );
    }
    done.push(['response.done', { response: this.responseObject(response, status, reason) }]);
    this.events.sendTogether(done);
  }

  private item(id: string, status: string): Record<string, unknown> {
    const content = status === 'in_progress' ? [] : [{ type: this.events.name('output_audio', 'audio'), transcript: '' }];
    return { id, object: 'realtime.item', type: 'message', role: 'assistant', status, content };
  }

  private responseObject(response: OpenResponse, status: string, reason?: CancelReason): Record<string, unknown> {
    const output = response.itemId && status !== 'in_progress' ? [this.item(response.itemId, status === 'completed' ? 'completed' : 'incomplete')] : [];
    return {
      id: response.id,
      object: 'realtime.response',
      status,
      status_details: status === 'in_progress' ? null : { type: status, ...(reason ? { reason } : {}) },
      output,
      [this.events.name('output_modalities', 'modalities')]: ['audio'],
      usage: null,
    };
  }
}
