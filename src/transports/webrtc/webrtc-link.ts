import { randomInt } from 'node:crypto';
import type { MediaStreamTrack, RTCDataChannel, RTCPeerConnection } from 'werift';
import { RtpHeader, RtpPacket } from 'werift';
import type { AudioFrame } from '../../audio/frame.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { TransportLink } from '../../session/session.js';
import type { ClientMessage, EndReason } from '../../session/types.js';
import type { VideoFrame } from '../../video/frame.js';
import type { RtpAudioCodec } from './audio-codecs.js';

const PACKET_MS = 20;

/**
 * A browser peer seen from the session: paced frames become RTP packets (encoded, with continuous
 * sequence numbers and timestamps that follow real time across silences), messages go on the
 * "text" data channel.
 */
export class WebRtcLink implements TransportLink {
  readonly kind = 'webrtc' as const;
  readonly format;
  readonly sendVideo: ((frame: VideoFrame) => void) | undefined;
  private sequenceNumber = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x100000000);
  private lastPacketAt: number | undefined;
  private channel: RTCDataChannel | undefined;
  private readonly pendingMessages: string[] = [];
  private closed = false;
  packetsSent = 0;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly track: MediaStreamTrack,
    private readonly codec: RtpAudioCodec | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    sendVideo?: (frame: VideoFrame) => void,
    private readonly videoStats?: () => Record<string, number>,
  ) {
    // A video-only peer carries no audio: sessions still get a format, and nothing is sent.
    this.format = codec?.format ?? { encoding: 'mulaw', sampleRate: 8000 };
    this.sendVideo = sendVideo;
  }

  /** The client's "text" data channel is open: send what waited for it. */
  attachChannel(channel: RTCDataChannel): void {
    this.channel = channel;
    for (const text of this.pendingMessages.splice(0)) this.sendText(text);
  }

  sendAudio(frame: AudioFrame, startsRun: boolean): void {
    if (this.closed || !this.codec) return;
    const codec = this.codec;
    const samples = (codec.format.sampleRate / 1000) * PACKET_MS;
    const data = frame.encoding === 'pcm16' ? frame.samples : frame.bytes;
    const now = this.clock.now();
    // A new talkspurt: the timestamp jumps by the silence that passed (RFC 3551 §4.1), marker set.
    // Within a talkspurt it advances one packet at a time, even when a late timer sends a burst.
    let marker = startsRun;
    if (startsRun && this.lastPacketAt !== undefined) {
      const silentPackets = Math.max(0, Math.round((now - this.lastPacketAt) / PACKET_MS) - 1);
      this.timestamp = (this.timestamp + silentPackets * codec.samplesPerPacket) >>> 0;
    }
    for (let offset = 0; offset + samples <= data.length; offset += samples) {
      const part: AudioFrame = frame.encoding === 'pcm16'
        ? { encoding: 'pcm16', sampleRate: frame.sampleRate, samples: frame.samples.subarray(offset, offset + samples) }
        : { encoding: 'mulaw', sampleRate: frame.sampleRate, bytes: frame.bytes.subarray(offset, offset + samples) };
      const payload = codec.encode(part);
      const header = new RtpHeader({ sequenceNumber: this.sequenceNumber, timestamp: this.timestamp, marker, payloadType: 0 });
      this.track.writeRtp(new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)));
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
      this.timestamp = (this.timestamp + codec.samplesPerPacket) >>> 0;
      marker = false;
      this.packetsSent++;
    }
    this.lastPacketAt = now + ((data.length / samples) - 1) * PACKET_MS;
  }

  stats(): Record<string, number> {
    return { packetsSent: this.packetsSent, ...this.videoStats?.() };
  }

  clear(): void {
    // Nothing waits at the far end beyond the browser's own jitter buffer: dropping our queue is enough.
  }

  sendMessage(message: ClientMessage): void {
    this.sendText(JSON.stringify(message));
  }

  close(reason: EndReason, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug({ reason, message }, 'closing peer connection');
    this.pc.close().catch((error: unknown) => this.log.debug({ err: error }, 'peer close failed'));
  }

  private sendText(text: string): void {
    const channel = this.channel;
    if (!channel || channel.readyState !== 'open') {
      if (this.pendingMessages.length < 100) this.pendingMessages.push(text);
      return;
    }
    try {
      channel.send(text);
    } catch (error) {
      this.log.debug({ err: error }, 'data channel send failed');
    }
  }
}
