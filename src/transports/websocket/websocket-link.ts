import WebSocket from 'ws';
import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import type { TransportLink } from '../../session/session.js';
import type { ClientMessage, EndReason } from '../../session/types.js';
import { closeCodeFor, closeReason, droppedForNotReading, encodeBase64 } from '../wire.js';

/** A program on FastRTC's WebSocket protocol, seen from the session. */
export class WebSocketLink implements TransportLink {
  readonly kind = 'websocket' as const;

  constructor(
    private readonly ws: WebSocket,
    readonly format: AudioFormat,
    readonly outputFormat: AudioFormat,
  ) {}

  sendAudio(frame: AudioFrame): void {
    const data = frame.encoding === 'pcm16' ? frame.samples : frame.bytes;
    this.write(`{"event":"media","media":{"payload":"${encodeBase64(data)}"}}`);
  }

  clear(): void {
    this.write('{"event":"clear"}');
  }

  sendMessage(message: ClientMessage): void {
    this.write(JSON.stringify(message));
  }

  close(reason: EndReason, message: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(closeCodeFor(reason), closeReason(message));
    }
  }

  private write(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN || droppedForNotReading(this.ws)) return;
    this.ws.send(text);
  }
}
