import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import type { TimerHandle } from '../../clock.js';
import type { Admitted } from '../../coordination/admission.js';
import type { Session } from '../../session/session.js';
import { JsonSocketConnection } from '../json-socket.js';
import type { TransportRuntime } from '../runtime.js';
import { CloseCode, decodeBase64Strict } from '../wire.js';
import { bytesPerMs, parseWireFormat, WireAudio, type WireFormat, decodedFormat } from './audio-format.js';
import { RealtimeLink } from './realtime-link.js';
import { type Dialect, type RealtimeErrorDetails, ServerEvents } from './server-events.js';
import { describeSession, readSessionUpdate } from './session-config.js';

/**
 * How long after `session.created` (or the latest `session.update`) a session opens when the client
 * sends nothing else: its audio formats are settled by then. Any other event opens it at once.
 */
export const SETTLE_MS = 500;

/** Largest session configuration kept and echoed (JSON characters, every `session.update` together). */
export const MAX_SESSION_CONFIG_CHARS = 16 * 1024;

/**
 * One client on `WS {path}/v1/realtime`, speaking OpenAI's Realtime protocol with callstream as the
 * server: told `session.created` on connect, as clients expect, but admitted (a place, an id) only
 * with its first event, which is due within `websocket.startTimeoutMs`; its session opened once its formats are settled,
 * its events translated into the session's calls and the session's audio into responses. Malformed
 * input gets an `error` event and a close with a code; events callstream does not support get an
 * `error` event and the connection goes on, as the API does.
 */
export class RealtimeConnection extends JsonSocketConnection {
  private readonly events: ServerEvents;
  private readonly id = `sess_${randomUUID().replace(/-/g, '')}`;
  private admission: Admitted | undefined;
  private settle: TimerHandle | undefined;
  private config: Record<string, unknown> = {};
  private formats: { input: WireFormat; output: WireFormat } = { input: 'pcm', output: 'pcm' };
  private audio: WireAudio | undefined;
  private link: RealtimeLink | undefined;
  /** Audio received (ms) in all, and since the last commit or clear. */
  private receivedMs = 0;
  private bufferedMs = 0;

  constructor(
    ws: WebSocket,
    runtime: TransportRuntime,
    private readonly remoteAddress: string | undefined,
    dialect: Dialect,
  ) {
    super(ws, runtime, {
      transport: 'websocket',
      remoteAddress,
      startTimeoutMs: runtime.options.websocket.startTimeoutMs,
      awaiting: 'event',
      protocol: 'the Realtime protocol',
      tellPeer: true,
    });
    this.events = new ServerEvents(this.writer, dialect);
    ws.on('close', () => {
      this.settle?.cancel();
      if (!this.session) this.admission?.giveBack();
    });
    // A connection that says nothing holds no place: nothing is admitted before the first event.
    this.events.send('session.created', { session: this.describe() });
  }

  /** Closes with an `error` event first, as Realtime clients expect (the base class's refusals come here too). */
  protected override refuse(code: number, reason: string): void {
    this.fatal(code, { type: code === CloseCode.internalError ? 'server_error' : 'invalid_request_error', code: 'protocol_error', message: reason });
  }

  protected onMessage(message: Record<string, unknown>): void | Promise<void> {
    const type = message.type;
    if (typeof type !== 'string') return this.refuse(CloseCode.protocolError, 'An event without a string "type".');
    // The events that follow are held (and bounded) by the base class while this one is admitted.
    if (!this.admission) return this.admit(message);
    const eventId = typeof message.event_id === 'string' ? message.event_id : undefined;
    if (type === 'session.update') return this.onSessionUpdate(message.session, eventId);
    const session = this.session ?? this.open();
    if (!session) return;
    switch (type) {
      case 'input_audio_buffer.append':
        return this.onAppend(session, message.audio);
      case 'input_audio_buffer.commit':
        if (this.bufferedMs < 100) return this.reject({ code: 'input_audio_buffer_commit_empty', message: `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${this.bufferedMs.toFixed(2)}ms of audio.`, eventId });
        this.bufferedMs = 0;
        this.link!.commit();
        return;
      case 'input_audio_buffer.clear':
        this.bufferedMs = 0;
        this.events.send('input_audio_buffer.cleared');
        return;
      case 'response.create':
        if (!this.link!.requestResponse()) return this.reject({ code: 'conversation_already_has_active_response', message: 'Conversation already has an active response in progress.', eventId });
        return;
      case 'response.cancel':
        if (!this.link!.cancel(() => session.interrupt())) return this.reject({ code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found.', eventId });
        return;
      case 'conversation.item.truncate':
        return this.onTruncate(message, eventId);
      default:
        return this.reject({ code: 'unsupported_event', message: `callstream does not support ${JSON.stringify(type).slice(0, 60)} (see docs/speech-to-speech.md for what it supports).`, eventId });
    }
  }

  /** The client is let in with its first event (a place under the limit, an id), then the event is handled. */
  private async admit(first: Record<string, unknown>): Promise<void> {
    const admission = await this.runtime.admit({ transport: 'websocket', id: this.id });
    if (!admission.admitted) {
      const limit = this.runtime.options.concurrencyLimit;
      if (admission.reason === 'busy') this.runtime.clientFaults.warn(this.log, { limit }, 'realtime client refused: concurrency limit reached');
      const code = admission.reason === 'busy' ? 'concurrency_limit_reached' : admission.reason === 'draining' ? 'shutting_down' : admission.reason === 'taken' ? 'session_taken' : 'server_unavailable';
      return this.fatal(CloseCode.tryAgainLater, { type: 'server_error', code, message: `The session was refused: ${code.replace(/_/g, ' ')}.` });
    }
    if (this.isClosed) return admission.giveBack();
    this.admission = admission;
    this.stopStartDeadline();
    this.armSettle();
    void this.onMessage(first);
  }

  /** Opens the session with the formats now in effect, and starts it. */
  private open(): Session | undefined {
    const admission = this.admission;
    if (!admission || this.isClosed) return undefined;
    this.settle?.cancel();
    this.audio = new WireAudio(decodedFormat(this.formats.input), decodedFormat(this.formats.output), this.formats);
    this.link = new RealtimeLink(this.events, this.writer, this.audio, () => this.receivedMs);
    const session = this.runtime.openSession({
      id: this.id,
      link: this.link,
      facts: { customParameters: {}, remoteAddress: this.remoteAddress },
      place: admission.place,
      leadMs: this.runtime.options.websocket.leadMs,
    });
    const link = this.link;
    session.on('played', (event) => link.played(event));
    this.began(session);
    // callstream's addition (clients ignore events they do not know): what reaches the session's inputs and outputs.
    this.events.send('callstream.session.opened', { session: { id: session.id, secret: session.secret } });
    session.start();
    return session;
  }

  private onSessionUpdate(value: unknown, eventId: string | undefined): void {
    const update = readSessionUpdate(value, this.events.dialect);
    if (typeof update === 'string') return this.fatal(CloseCode.invalidPayload, { type: 'invalid_request_error', code: 'invalid_value', message: update, eventId });
    const config = { ...this.config, ...update.fields };
    if (JSON.stringify(config).length > MAX_SESSION_CONFIG_CHARS) {
      return this.fatal(CloseCode.policyViolation, { type: 'invalid_request_error', code: 'invalid_value', message: `The session's configuration is over ${MAX_SESSION_CONFIG_CHARS} characters of JSON: callstream keeps no more.`, eventId });
    }
    if (update.dialect !== this.events.dialect) this.events.dialect = update.dialect;
    this.config = config;
    this.formats = { input: update.input ?? this.formats.input, output: update.output ?? this.formats.output };
    if (this.audio) {
      this.audio.input = this.formats.input;
      this.audio.output = this.formats.output;
    }
    this.events.send('session.updated', { session: this.describe() });
    if (!this.session) this.armSettle();
  }

  private onAppend(session: Session, audio: unknown): void {
    if (typeof audio !== 'string') return this.refuse(CloseCode.protocolError, 'input_audio_buffer.append needs "audio" (base64).');
    const bytes = decodeBase64Strict(audio);
    if (!bytes) return this.refuse(CloseCode.invalidPayload, 'input_audio_buffer.append: "audio" is not valid base64.');
    if (bytes.length === 0) return;
    const frame = this.audio!.decode(bytes);
    if (typeof frame === 'string') return this.refuse(CloseCode.invalidPayload, frame);
    const ms = bytes.length / bytesPerMs(this.audio!.input);
    this.receivedMs += ms;
    this.bufferedMs += ms;
    session.receiveAudio(frame);
  }

  private onTruncate(message: Record<string, unknown>, eventId: string | undefined): void {
    const { item_id: itemId, content_index: contentIndex, audio_end_ms: audioEndMs } = message;
    if (typeof itemId !== 'string' || typeof audioEndMs !== 'number' || audioEndMs < 0) {
      return this.reject({ code: 'invalid_value', message: 'conversation.item.truncate needs item_id and a non-negative audio_end_ms.', eventId });
    }
    this.events.send('conversation.item.truncated', { item_id: itemId, content_index: typeof contentIndex === 'number' ? contentIndex : 0, audio_end_ms: audioEndMs });
  }

  private describe(): Record<string, unknown> {
    return describeSession(this.id, this.config, this.formats, this.events.dialect);
  }

  private armSettle(): void {
    this.settle?.cancel();
    this.settle = this.runtime.clock.after(SETTLE_MS, () => {
      if (!this.session && !this.isClosed) this.open();
    });
  }

  /** An error the client caused that leaves the connection open (as the API answers a bad request). */
  private reject(details: Omit<RealtimeErrorDetails, 'type'>): void {
    this.events.error({ type: 'invalid_request_error', ...details });
  }

  /** An `error` event, then the close with `code`; the session (if any) ends. */
  private fatal(code: number, details: RealtimeErrorDetails): void {
    if (this.isClosed) return;
    if (code !== CloseCode.tryAgainLater) this.runtime.clientFaults.warn(this.log, { code, reason: details.message, sessionId: this.session?.id }, 'socket closed: protocol error');
    this.settle?.cancel();
    this.events.error(details);
    this.closeWith(code, details.message);
    this.session?.end('protocol_error', details.message);
  }
}
