import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import type { Logger } from '../../logger.js';
import type { CallControl, TransportLink } from '../../session/session.js';
import type { ClientMessage, EndReason } from '../../session/types.js';
import type { SocketWriter } from '../socket-writer.js';
import { closeCodeFor, encodeBase64 } from '../wire.js';

const PHONE_FORMAT: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };

/** A Twilio media stream seen from the session: media, mark and clear messages out. */
export class TelephoneLink implements TransportLink {
  readonly kind = 'telephone' as const;
  readonly format = PHONE_FORMAT;
  readonly hasClient = false;
  private readonly mediaPrefix: string;
  private readonly sidJson: string;

  constructor(
    private readonly writer: SocketWriter,
    streamSid: string,
    private readonly log: Logger,
    /** Hang-up and transfer over Twilio's REST API, when the Stream has a client. */
    readonly control?: CallControl,
  ) {
    this.sidJson = JSON.stringify(streamSid);
    this.mediaPrefix = `{"event":"media","streamSid":${this.sidJson},"media":{"payload":"`;
  }

  sendAudio(frame: AudioFrame): void {
    this.writer.send(this.media(frame));
  }

  sendMark(name: string): void {
    this.writer.send(this.mark(name));
  }

  /** Media and its mark leave in one write to the socket, not one system call each. */
  sendAudioWithMark(frame: AudioFrame, _startsRun: boolean, mark: string): void {
    this.writer.sendTogether([this.media(frame), this.mark(mark)]);
  }

  clear(): void {
    this.writer.send(`{"event":"clear","streamSid":${this.sidJson}}`);
  }

  sendMessage(message: ClientMessage): void {
    // Twilio's socket has no place for these: log them instead of breaking its protocol.
    this.log.debug({ message }, 'client message (not sent to Twilio)');
  }

  close(reason: EndReason, message: string): void {
    this.writer.close(closeCodeFor(reason), message);
  }

  private media(frame: AudioFrame): string {
    if (frame.encoding !== 'mulaw') throw new TypeError('TelephoneLink sends μ-law only');
    return this.mediaPrefix + encodeBase64(frame.bytes) + '"}}';
  }

  private mark(name: string): string {
    return `{"event":"mark","streamSid":${this.sidJson},"mark":{"name":${JSON.stringify(name)}}}`;
  }
}
