import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import type { TransportLink } from '../../session/session.js';
import type { ClientMessage, EndReason } from '../../session/types.js';
import type { SocketWriter } from '../socket-writer.js';
import { closeCodeFor, encodeBase64 } from '../wire.js';

/** A program on FastRTC's WebSocket protocol, seen from the session. */
export class WebSocketLink implements TransportLink {
  readonly kind = 'websocket' as const;

  constructor(
    private readonly writer: SocketWriter,
    readonly format: AudioFormat,
    readonly outputFormat: AudioFormat,
  ) {}

  sendAudio(frame: AudioFrame): void {
    const data = frame.encoding === 'pcm16' ? frame.samples : frame.bytes;
    this.writer.send(`{"event":"media","media":{"payload":"${encodeBase64(data)}"}}`);
  }

  clear(): void {
    this.writer.send('{"event":"clear"}');
  }

  sendMessage(message: ClientMessage): void {
    this.writer.send(JSON.stringify(message));
  }

  close(reason: EndReason, message: string): void {
    this.writer.close(closeCodeFor(reason), message);
  }
}
