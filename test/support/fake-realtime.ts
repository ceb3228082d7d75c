import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * A speech-to-speech service at the outside edge, speaking OpenAI's Realtime protocol as documented
 * (GA event names by default, the beta names when asked): `session.created` on connect,
 * `session.updated`, audio appended and recorded, responses with audio deltas scripted by the test,
 * `response.cancel`, and `conversation.item.truncate` checked as the API checks it (an
 * `audio_end_ms` beyond the item's audio is an error event).
 */

export type FakeEvent = { type: string } & Record<string, unknown>;

export interface FakeRealtimeOptions {
  /** Only this bearer key is let in; others get 401 with an API-style error body. */
  apiKey?: string;
  /** Every handshake is answered with this status (429: rate limited, 500...). */
  refuseWith?: number;
  /** Event names of the audio it sends: `ga` (response.output_audio.delta) or `beta` (response.audio.delta). */
  names?: 'ga' | 'beta';
}

export interface SpeakOptions {
  responseId?: string;
  itemId?: string;
  /** Bytes per delta. Default 1600 (200 ms of μ-law, 33 ms of 24 kHz PCM). */
  chunkBytes?: number;
  /** Leave the response in flight (no response.done): it is still "talking". */
  keepOpen?: boolean;
  transcript?: string;
}

let ids = 0;
const id = (prefix: string) => `${prefix}_fake${++ids}`;

export class FakeRealtimeServer {
  readonly connections: FakeRealtimeConnection[] = [];
  /** Handshakes refused (status codes). */
  readonly refused: number[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Set<Socket>();
  private waiters: ((connection: FakeRealtimeConnection) => void)[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeRealtimeOptions,
  ) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
  }

  static async start(options: FakeRealtimeOptions = {}): Promise<FakeRealtimeServer> {
    const server = http.createServer((_req, res) => res.writeHead(426).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FakeRealtimeServer(server, options);
  }

  /** The Realtime URL, as the bridge's `url` option takes it. */
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/realtime`;
  }

  /** TCP connections still open (a bridge that leaks its socket keeps one). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** The next connection (or the one already made). */
  connection(index = 0, timeoutMs = 5000): Promise<FakeRealtimeConnection> {
    const existing = this.connections[index];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection #${index} to the fake Realtime server within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const found = this.connections[index];
        if (!found) return void this.waiters.push(check);
        clearTimeout(timer);
        resolve(found);
      };
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.ws.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const status = this.options.refuseWith ?? (this.options.apiKey !== undefined && key !== this.options.apiKey ? 401 : undefined);
    if (status !== undefined) {
      this.refused.push(status);
      const body = JSON.stringify({ error: { type: status === 401 ? 'invalid_request_error' : 'requests', code: status === 401 ? 'invalid_api_key' : null, message: status === 401 ? 'Incorrect API key provided.' : 'Refused.' } });
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new FakeRealtimeConnection(ws, req, this.options.names ?? 'ga');
      this.connections.push(connection);
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake(connection);
    });
  }
}

export class FakeRealtimeConnection {
  /** Every client event, in order. */
  readonly events: FakeEvent[] = [];
  readonly headers: http.IncomingHttpHeaders;
  readonly url: URL;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The session's input and output formats, as the last session.update set them (`audio/pcm` by default). */
  inputFormat = 'audio/pcm';
  outputFormat = 'audio/pcm';
  /** Audio of each assistant item sent so far (bytes). */
  private readonly itemBytes = new Map<string, number>();
  private activeResponse: string | undefined;
  private readonly appended: Buffer[] = [];

  constructor(
    readonly ws: WebSocket,
    req: http.IncomingMessage,
    private readonly names: 'ga' | 'beta',
  ) {
    this.headers = req.headers;
    this.url = new URL(req.url ?? '/', 'ws://fake');
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
    ws.on('message', (data) => this.onMessage(JSON.parse(String(data)) as FakeEvent));
    this.send({ type: 'session.created', session: { id: id('sess'), object: 'realtime.session', type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 24000 } }, output: { format: { type: 'audio/pcm', rate: 24000 } } } } });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Everything appended to the input audio buffer, decoded from base64. */
  audioIn(): Buffer {
    return Buffer.concat(this.appended);
  }

  /** The events of one type the client sent. */
  sent(type: string): FakeEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  send(event: FakeEvent): void {
    if (this.isOpen) this.ws.send(JSON.stringify({ event_id: id('event'), ...event }));
  }

  /** Resolves when `predicate` holds (checked on every client event and every 10 ms). */
  async waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'a condition'): Promise<void> {
    const started = performance.now();
    while (!predicate()) {
      if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the client sent: ${this.events.map((e) => e.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Milliseconds in `bytes` of the output format. */
  outputMs(bytes: number): number {
    return this.outputFormat === 'audio/pcm' ? bytes / 48 : bytes / 8;
  }

  /**
   * A response with one assistant message item whose audio is `audio` (in the output format), sent
   * as fast as the socket takes it, as the API does. Returns the response and item ids.
   */
  speak(audio: Uint8Array, options: SpeakOptions = {}): { responseId: string; itemId: string } {
    const responseId = options.responseId ?? id('resp');
    const itemId = options.itemId ?? id('item');
    const item = { id: itemId, object: 'realtime.item', type: 'message', role: 'assistant', status: 'in_progress', content: [] };
    this.startResponse(responseId);
    this.send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item });
    this.send({ type: 'response.content_part.added', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: '' } });
    this.speakMore(responseId, itemId, audio, options.chunkBytes);
    if (!options.keepOpen) this.finish(responseId, itemId, options.transcript ?? '');
    return { responseId, itemId };
  }

  /** More audio for an item (a response still in flight). */
  speakMore(responseId: string, itemId: string, audio: Uint8Array, chunkBytes = 1600): void {
    const deltaType = this.names === 'ga' ? 'response.output_audio.delta' : 'response.audio.delta';
    for (let offset = 0; offset < audio.length; offset += chunkBytes) {
      const chunk = audio.subarray(offset, offset + chunkBytes);
      this.itemBytes.set(itemId, (this.itemBytes.get(itemId) ?? 0) + chunk.length);
      this.send({ type: deltaType, response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta: Buffer.from(chunk).toString('base64') });
    }
  }

  /** Ends the item and its response. */
  finish(responseId: string, itemId: string, transcript = ''): void {
    const ga = this.names === 'ga';
    this.send({ type: ga ? 'response.output_audio.done' : 'response.audio.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0 });
    this.send({ type: ga ? 'response.output_audio_transcript.done' : 'response.audio_transcript.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, transcript });
    this.send({ type: 'response.output_item.done', response_id: responseId, output_index: 0, item: { id: itemId, type: 'message', role: 'assistant', status: 'completed' } });
    this.endResponse(responseId, 'completed');
  }

  /** A function call in a response of its own. */
  callFunction(name: string, args: unknown): { callId: string; responseId: string } {
    const responseId = id('resp');
    const callId = id('call');
    const item = { id: id('item'), type: 'function_call', status: 'in_progress', name, call_id: callId, arguments: '' };
    this.startResponse(responseId);
    this.send({ type: 'response.output_item.added', response_id: responseId, output_index: 0, item });
    this.send({ type: 'response.function_call_arguments.done', response_id: responseId, item_id: item.id, output_index: 0, call_id: callId, name, arguments: JSON.stringify(args) });
    this.endResponse(responseId, 'completed');
    return { callId, responseId };
  }

  /** Server VAD heard the caller start talking. */
  speechStarted(): void {
    this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(this.inputMs()), item_id: id('item') });
  }

  startResponse(responseId: string): void {
    this.activeResponse = responseId;
    this.send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } });
  }

  endResponse(responseId: string, status: string, statusDetails?: Record<string, unknown>): void {
    if (this.activeResponse === responseId) this.activeResponse = undefined;
    this.send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status, ...(statusDetails ? { status_details: statusDetails } : {}), output: [] } });
  }

  private inputMs(): number {
    const bytes = this.audioIn().length;
    return this.inputFormat === 'audio/pcm' ? bytes / 48 : bytes / 8;
  }

  private onMessage(event: FakeEvent): void {
    this.events.push(event);
    switch (event.type) {
      case 'session.update':
        return this.onSessionUpdate(event.session as Record<string, unknown>);
      case 'input_audio_buffer.append':
        this.appended.push(Buffer.from(String(event.audio), 'base64'));
        return;
      case 'conversation.item.truncate':
        return this.onTruncate(event);
      case 'response.cancel':
        if (!this.activeResponse) return this.error('invalid_request_error', 'response_cancel_not_active', 'Cancellation failed: no active response found.', event);
        return this.endResponse(this.activeResponse, 'cancelled', { type: 'cancelled', reason: 'client_cancelled' });
      case 'response.create': {
        if (this.activeResponse) return this.error('invalid_request_error', 'conversation_already_has_active_response', 'Conversation already has an active response.', event);
        const responseId = id('resp');
        this.startResponse(responseId);
        return this.endResponse(responseId, 'completed');
      }
      case 'conversation.item.create': {
        const item = { id: id('item'), ...(event.item as Record<string, unknown>) };
        return this.send({ type: 'conversation.item.added', previous_item_id: null, item });
      }
    }
  }

  private onSessionUpdate(session: Record<string, unknown>): void {
    const audio = session.audio as { input?: { format?: { type?: string } }; output?: { format?: { type?: string } } } | undefined;
    const beta: Record<string, string> = { pcm16: 'audio/pcm', g711_ulaw: 'audio/pcmu', g711_alaw: 'audio/pcma' };
    this.inputFormat = audio?.input?.format?.type ?? beta[String(session.input_audio_format)] ?? this.inputFormat;
    this.outputFormat = audio?.output?.format?.type ?? beta[String(session.output_audio_format)] ?? this.outputFormat;
    this.send({ type: 'session.updated', session });
  }

  private onTruncate(event: FakeEvent): void {
    const bytes = this.itemBytes.get(String(event.item_id));
    if (bytes === undefined) return this.error('invalid_request_error', 'item_truncate_invalid_item_id', `Item ${String(event.item_id)} not found.`, event);
    const end = Number(event.audio_end_ms);
    if (!(end >= 0) || end > this.outputMs(bytes)) return this.error('invalid_request_error', 'invalid_value', `audio_end_ms ${end} is beyond the item's audio (${this.outputMs(bytes)} ms).`, event);
    this.send({ type: 'conversation.item.truncated', item_id: event.item_id, content_index: 0, audio_end_ms: end });
  }

  /** An `error` event, as the API sends it about a client event. */
  error(type: string, code: string | null, message: string, about?: FakeEvent): void {
    this.send({ type: 'error', error: { type, code, message, param: null, event_id: (about?.event_id as string | undefined) ?? null } });
  }
}
