import WebSocket from 'ws';
import { socketLife } from './socket-life.js';

/** A program on FastRTC's WebSocket protocol: JSON messages recorded as they come. */
export class AudioSocket {
  readonly ws: WebSocket;
  readonly messages: Record<string, unknown>[] = [];
  readonly media: { bytes: Buffer; at: number }[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(baseUrl: string, path = '/websocket/offer', headers: Record<string, string> = {}) {
    this.ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, { headers });
    ({ opened: this.opened, closed: this.closed } = socketLife(this.ws));
    this.ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(message);
      if (message.event === 'media') this.media.push({ bytes: Buffer.from((message.media as { payload: string }).payload, 'base64'), at: performance.now() });
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendMedia(bytes: Uint8Array): void {
    this.send({ event: 'media', media: { payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') } });
  }

  /** Opens, sends start, and resolves with the server's `started` message. */
  async start(id: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    await this.opened;
    this.send({ event: 'start', websocket_id: id, ...extra });
    return this.next((m) => m.event === 'started' || m.status === 'failed' || m.type === 'error');
  }

  /** Resolves with the first message (already received or coming) that matches. */
  next(match: (message: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('message', check);
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      const check = () => {
        const found = this.messages.find(match);
        if (!found) return;
        clearTimeout(timer);
        this.ws.off('message', check);
        resolve(found);
      };
      this.ws.on('message', check);
    });
  }

  receivedAudio(): Buffer {
    return Buffer.concat(this.media.map((m) => m.bytes));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}
