import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { type ClientEvent, parseServerEvent, type ServerEvent } from './protocol.js';

export interface ModelSocketOptions {
  url: string;
  headers: Record<string, string>;
  /** The opening handshake must complete within this time (ms). */
  connectTimeoutMs: number;
  onEvent(event: ServerEvent): void;
  /** Called once, when the connection fails or the model ends it; never after close(). */
  onFailure(reason: string, detail: Record<string, unknown>): void;
  /** A message that is not a JSON event (logged by the owner; the socket goes on). */
  onGarbage?(text: string): void;
}

/** Events kept while the socket connects (about 10 s of 20 ms audio); older audio is dropped first. */
const MAX_PENDING = 500;
/** What the model may leave unread before it counts as gone (bytes). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Largest message taken from the model (a long audio delta is well under this). */
const MAX_PAYLOAD = 16 * 1024 * 1024;

/**
 * The one WebSocket to a speech-to-speech model, owned by one session: it connects, keeps what is sent
 * before the socket opens, hands every event on, and reports the first failure (a refused handshake
 * such as 401, a handshake timeout, a socket error, the model closing, a model that stops reading)
 * exactly once. `close()` ends it quietly.
 */
export class ModelSocket {
  private readonly ws: WebSocket;
  private pending: string[] = [];
  private over = false;

  constructor(private readonly options: ModelSocketOptions) {
    this.ws = new WebSocket(options.url, {
      headers: options.headers,
      perMessageDeflate: false,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: options.connectTimeoutMs,
      followRedirects: false,
    });
    this.ws.on('open', () => this.flush());
    this.ws.on('message', (data) => this.onMessage(String(data)));
    this.ws.on('unexpected-response', (_request, response) => this.refused(response));
    this.ws.on('error', (error: Error) => this.fail(`the connection to the model failed: ${error.message}`, {}));
    this.ws.on('close', (code, reason) => {
      const said = reason.toString();
      this.fail(`the model closed the connection (${code}${said ? `: ${said}` : ''})`, { code });
    });
  }

  /** True once the socket is open. */
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends an event now, or once the socket opens; nothing after a failure or close(). */
  send(event: ClientEvent): void {
    if (this.over) return;
    const message = JSON.stringify(event);
    if (this.ws.readyState === WebSocket.CONNECTING) {
      if (this.pending.length >= MAX_PENDING) this.dropOldestAudio();
      this.pending.push(message);
      return;
    }
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > MAX_UNSENT_BYTES) {
      this.fail('the model stopped reading what was sent to it', { unsentBytes: this.ws.bufferedAmount });
      return;
    }
    this.ws.send(message);
  }

  /** Ends the connection without reporting a failure (idempotent). */
  close(): void {
    this.over = true;
    this.pending = [];
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'session ended');
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = [];
    for (const message of pending) this.ws.send(message);
  }

  private onMessage(text: string): void {
    if (this.over) return;
    const event = parseServerEvent(text);
    if (event) this.options.onEvent(event);
    else this.options.onGarbage?.(text);
  }

  /** The handshake got an HTTP answer instead of an upgrade (401 for a bad key, 429, 5xx...). */
  private refused(response: IncomingMessage): void {
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < 4096) chunks.push(chunk);
      size += chunk.length;
    });
    const report = () => {
      const body = Buffer.concat(chunks).toString('utf8').slice(0, 4096);
      const hint = status === 401 ? ' (is the API key right?)' : status === 429 ? ' (rate limited or out of quota)' : '';
      this.fail(`the model refused the connection: HTTP ${status}${hint}`, { status, message: errorMessage(body) });
      this.ws.terminate();
    };
    response.on('end', report);
    response.on('error', report);
  }

  private fail(reason: string, detail: Record<string, unknown>): void {
    if (this.over) return;
    this.over = true;
    this.pending = [];
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'failed');
    this.options.onFailure(reason, detail);
  }

  private dropOldestAudio(): void {
    const index = this.pending.findIndex((message) => message.startsWith('{"type":"input_audio_buffer.append"'));
    this.pending.splice(index === -1 ? 0 : index, 1);
  }
}

/** The `error.message` of an API error body, else the body's start. */
function errorMessage(body: string): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: the start of the body says what it is
  }
  return body.slice(0, 200);
}
