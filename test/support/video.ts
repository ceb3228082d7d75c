import { execFileSync } from 'node:child_process';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  type RTCRtpCodecParameters,
  useNACK,
  useOPUS,
  usePLI,
  useVP8,
  Vp8Packetizer,
  Vp8RtpPayload,
} from 'werift';
import { DepacketizeCallback, JitterBufferCallback } from 'werift/nonstandard';
import { i420Size } from '../../src/video/frame.js';
import { ivfFileHeader, ivfFrame, IvfReader } from '../../src/video/ivf.js';

/** A VP8 clip made by ffmpeg at test time (`testsrc`, or a solid colour), as frames. */
export function makeClip(options: { width: number; height: number; frames: number; color?: string }): Buffer[] {
  const source = options.color
    ? `color=c=${options.color}:size=${options.width}x${options.height}:rate=30`
    : `testsrc=size=${options.width}x${options.height}:rate=30`;
  const ivf = execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', source, '-frames:v', String(options.frames),
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '15', '-b:v', '800k', '-f', 'ivf', 'pipe:1',
  ], { maxBuffer: 64 * 1024 * 1024 });
  const frames: Buffer[] = [];
  new IvfReader((data) => frames.push(data)).push(ivf);
  return frames;
}

/** Decodes VP8 frames with a separate ffmpeg run (independent of the code under test) to I420 frames. */
export function decodeClip(frames: Buffer[], width: number, height: number): Uint8Array[] {
  const input = Buffer.concat([ivfFileHeader(width, height), ...frames.map((f, i) => ivfFrame(f, i))]);
  const raw = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'ivf', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], {
    input,
    maxBuffer: 256 * 1024 * 1024,
  });
  const size = i420Size(width, height);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset + size <= raw.length; offset += size) out.push(new Uint8Array(raw.subarray(offset, offset + size)));
  return out;
}

/** Mean of the Y, U and V planes of an I420 frame. */
export function planeMeans(frame: Uint8Array, width: number, height: number): [number, number, number] {
  const luma = width * height;
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  const mean = (from: number, to: number) => {
    let sum = 0;
    for (let i = from; i < to; i++) sum += frame[i]!;
    return sum / (to - from);
  };
  return [mean(0, luma), mean(luma, luma + chroma), mean(luma + chroma, luma + 2 * chroma)];
}

/** A werift peer playing a browser with a camera (VP8), optionally a microphone (Opus). */
export class VideoTestPeer {
  readonly pc: RTCPeerConnection;
  readonly video = new MediaStreamTrack({ kind: 'video' });
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly receivedFrames: { data: Buffer; isKeyframe: boolean; at: number }[] = [];
  keyframeAsks = 0;
  private readonly packetizer = new Vp8Packetizer({ maxPayloadSize: 1100 });

  constructor(
    readonly baseUrl: string,
    readonly id: string,
    options: { audio?: boolean } = {},
  ) {
    const videoCodecs: RTCRtpCodecParameters[] = [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })];
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: [], codecs: { audio: options.audio ? [useOPUS()] : [], video: videoCodecs } });
    if (options.audio) this.pc.addTransceiver(this.audio, { direction: 'sendrecv' });
    this.pc.createDataChannel('text'); // as the page does: its closing tells the server the tab went away
    const transceiver = this.pc.addTransceiver(this.video, { direction: 'sendrecv' });
    transceiver.sender.onPictureLossIndication.subscribe(() => this.keyframeAsks++);
    transceiver.onTrack.subscribe((track) => {
      const jitter = new JitterBufferCallback(90000, { latency: 100 });
      const depacketizer = new DepacketizeCallback('vp8', { isFinalPacketInSequence: (h) => Vp8RtpPayload.isDetectedFinalPacketInSequence(h) });
      jitter.pipe((o) => depacketizer.input(o));
      depacketizer.pipe((o) => o.frame && this.receivedFrames.push({ data: o.frame.data, isKeyframe: o.frame.isKeyframe, at: performance.now() }));
      track.onReceiveRtp.subscribe((rtp) => jitter.input({ rtp }));
    });
  }

  async connect(): Promise<Record<string, unknown>> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const response = await fetch(`${this.baseUrl}/webrtc/offer`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sdp: this.pc.localDescription!.sdp, type: 'offer', webrtc_id: this.id }),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (json.status === 'failed' || !json.sdp) return json;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: json.sdp as string });
    await this.pc.connectionStateChange.watch((state) => state === 'connected', 10000);
    return json;
  }

  /** Sends one VP8 frame (packetized). */
  sendFrame(vp8: Buffer, index: number): void {
    for (const packet of this.packetizer.packetize(vp8, (index * 3000) >>> 0)) this.video.writeRtp(packet);
  }

  /** Sends a clip at `fps`, looping, for `count` frames. */
  async play(clip: Buffer[], count: number, fps = 30): Promise<void> {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      this.sendFrame(clip[i % clip.length]!, i);
      const wait = start + ((i + 1) * 1000) / fps - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}
