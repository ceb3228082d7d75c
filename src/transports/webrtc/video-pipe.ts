import { type MediaStreamTrack, type RTCRtpReceiver, type RTCRtpSender, Vp8Packetizer, Vp8RtpPayload } from 'werift';
import { DepacketizeCallback, JitterBufferCallback } from 'werift/nonstandard';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { VideoCodec, VideoDecoder, VideoEncoder } from '../../video/codec.js';
import { assertVideoFrame, type VideoFrame } from '../../video/frame.js';

const KEYFRAME_ASK_MS = 300;
const ENCODER_RESTART_MS = 1000;
/** Frames waiting in the encoder beyond this are dropped: never a growing queue. */
const MAX_ENCODER_BACKLOG = 2;

/**
 * One peer's video: VP8 RTP in (jitter buffer, depacketizer, decoder) to I420 frames, and I420 frames
 * out (encoder, packetizer) to RTP. Keyframes are asked for at the start and after loss; a browser's
 * own ask restarts the encoder (it begins with a keyframe); the encoder also makes one every 2 s.
 */
export class VideoPipe {
  private readonly decoder: VideoDecoder;
  private encoder: VideoEncoder | undefined;
  private encoderStartedAt = -Infinity;
  private readonly packetizer = new Vp8Packetizer({ maxPayloadSize: 1100 });
  private jitter: JitterBufferCallback | undefined;
  private depacketizer: DepacketizeCallback | undefined;
  private lastKeyframeAsk = -Infinity;
  private readonly startedAt: number;
  private closed = false;
  keyframeAsks = 0;
  browserKeyframeAsks = 0;
  droppedOutbound = 0;
  /** Recent per-frame timings (ms): VP8 frame complete → decoded; encode call → packets out; frame complete → packets out. */
  readonly timings = { decode: new Samples(), encode: new Samples(), total: new Samples() };
  private readonly encodeStarted = new Map<number, number>();

  constructor(
    private readonly codec: VideoCodec,
    private readonly outbound: MediaStreamTrack,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onFrame: (frame: VideoFrame) => void,
  ) {
    this.startedAt = clock.now();
    this.decoder = codec.createDecoder(
      (frame) => {
        if (this.closed) return;
        this.timings.decode.add(this.clock.now() - frame.timestamp);
        this.onFrame(frame);
      },
      (reason) => this.log.warn({ reason }, 'video decoder failed'),
    );
  }

  /** The browser's camera track: depacketize and decode it; ask for a keyframe at once. */
  receiveFrom(track: MediaStreamTrack, receiver: RTCRtpReceiver): void {
    const jitter = new JitterBufferCallback(90000, { latency: 100 });
    const depacketizer = new DepacketizeCallback('vp8', {
      isFinalPacketInSequence: (header) => Vp8RtpPayload.isDetectedFinalPacketInSequence(header),
    });
    this.jitter = jitter;
    this.depacketizer = depacketizer;
    let ssrc: number | undefined;
    const askKeyframe = () => ssrc !== undefined && this.askKeyframe(receiver, ssrc);
    depacketizer.onNeedKeyFrame.subscribe(askKeyframe);
    jitter.pipe((output) => {
      if (output.isPacketLost) askKeyframe();
      depacketizer.input(output);
    });
    depacketizer.pipe((output) => {
      if (!output.frame || this.closed) return;
      if (!this.decoder.decode(output.frame.data, this.clock.now())) askKeyframe();
    });
    let first = true;
    track.onReceiveRtp.subscribe((rtp) => {
      if (this.closed) return;
      if (first) {
        first = false;
        ssrc = rtp.header.ssrc;
        askKeyframe();
      }
      jitter.input({ rtp });
    });
  }

  /** Count the browser's keyframe asks, and answer them with a fresh encoder (it starts on a keyframe). */
  listenForKeyframeAsks(sender: RTCRtpSender): void {
    sender.onPictureLossIndication.subscribe(() => {
      this.browserKeyframeAsks++;
      if (this.encoder && this.clock.now() - this.encoderStartedAt >= ENCODER_RESTART_MS) this.restartEncoder(this.encoder.width, this.encoder.height);
    });
  }

  /** Sends a frame back to the browser (any size: the encoder follows it). */
  send(frame: VideoFrame): void {
    if (this.closed) return;
    assertVideoFrame(frame);
    if (!this.encoder || this.encoder.width !== frame.width || this.encoder.height !== frame.height) {
      this.restartEncoder(frame.width, frame.height);
    }
    if (this.encoder!.inFlight >= MAX_ENCODER_BACKLOG) {
      this.droppedOutbound++;
      return;
    }
    this.encodeStarted.set(frame.timestamp, this.clock.now());
    if (this.encodeStarted.size > 64) this.encodeStarted.delete(this.encodeStarted.keys().next().value!);
    this.encoder!.encode(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.close();
    this.encoder?.close();
    this.jitter?.destroy();
    this.depacketizer?.destroy();
  }

  private restartEncoder(width: number, height: number): void {
    this.encoder?.close();
    this.encoderStartedAt = this.clock.now();
    this.encoder = this.codec.createEncoder(
      width,
      height,
      {},
      (vp8, _keyframe, frameTimestamp) => {
        if (this.closed) return;
        const now = this.clock.now();
        const started = this.encodeStarted.get(frameTimestamp);
        if (started !== undefined) {
          this.encodeStarted.delete(frameTimestamp);
          this.timings.encode.add(now - started);
          this.timings.total.add(now - frameTimestamp);
        }
        const timestamp = Math.round((now - this.startedAt) * 90) >>> 0;
        for (const packet of this.packetizer.packetize(vp8, timestamp)) this.outbound.writeRtp(packet);
      },
      (reason) => this.log.warn({ reason }, 'video encoder failed'),
    );
  }

  private askKeyframe(receiver: RTCRtpReceiver, ssrc: number): void {
    const now = this.clock.now();
    if (now - this.lastKeyframeAsk < KEYFRAME_ASK_MS) return;
    this.lastKeyframeAsk = now;
    this.keyframeAsks++;
    receiver.sendRtcpPLI(ssrc).catch(() => {});
  }
}

/** The last few hundred values of a measure, for percentiles. */
export class Samples {
  private readonly values: number[] = [];

  add(value: number): void {
    this.values.push(value);
    if (this.values.length > 512) this.values.shift();
  }

  percentile(p: number): number {
    if (this.values.length === 0) return NaN;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  }

  get count(): number {
    return this.values.length;
  }
}
