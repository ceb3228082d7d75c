import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { VideoCodec, VideoDecoder, VideoEncoder, VideoEncoderOptions } from './codec.js';
import { findFfmpeg, findVpxdec, type Program } from './ffmpeg.js';
import { type VideoFrame, i420Size } from './frame.js';
import { IvfReader, ivfFileHeader, ivfFrame, vp8KeyframeSize } from './ivf.js';

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

const ffmpegProgram = (args: string[]): Program => ({ name: 'ffmpeg', command: findFfmpeg(), args: ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args] });

/** The decoder as ffmpeg runs it: IVF in, raw I420 out, one frame per frame. */
const FFMPEG_DECODER: Program['args'] = [
  '-threads', '1', '-probesize', '32', '-analyzeduration', '0', '-f', 'ivf', '-i', 'pipe:0',
  // Passthrough: never duplicate or drop frames to fit a frame rate.
  '-fps_mode', 'passthrough', '-flush_packets', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1',
];

/** A frame fed to a decoder this long ago that has not come out never will (ms). */
const LOST_AFTER_MS = 500;

/** A persistent codec process with pipes, stopped for good by `stopProcess()`. */
function startProcess(program: Program, onStdout: (chunk: Buffer) => void, onExit: (reason: string) => void): Child {
  const child = spawn(program.command, program.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.on('data', onStdout);
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdin.on('error', () => {}); // EPIPE after the process died: reported through exit
  child.on('error', (error) => onExit(error.message));
  child.on('exit', (code, signal) => onExit(`${program.name} exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}`));
  return child;
}

function stopProcess(child: Child | undefined): void {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.removeAllListeners('exit');
  child.stdin.end();
  child.kill('SIGKILL');
}

/**
 * VP8 → I420 with a persistent decoder process (vpxdec, or `ffmpeg -f ivf -i pipe:0 -f rawvideo
 * pipe:1`), IVF in and raw frames out, restarted when the size changes.
 */
class ProcessDecoder implements VideoDecoder {
  private child: Child | undefined;
  private width = 0;
  private height = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Timestamps of the frames fed and not yet out, with when they were fed (performance.now()). */
  private timestamps: { timestamp: number; fedAt: number }[] = [];
  private frameIndex = 0;
  private closed = false;

  constructor(
    private readonly program: Program,
    private readonly onFrame: (frame: VideoFrame) => void,
    private readonly onError: (reason: string) => void,
  ) {}

  get inFlight(): number {
    return this.timestamps.length;
  }

  decode(vp8: Buffer, timestamp: number): boolean {
    if (this.closed) return false;
    const size = vp8KeyframeSize(vp8);
    if (size && (size.width !== this.width || size.height !== this.height)) this.restart(size.width, size.height);
    if (!this.child) return false; // no keyframe yet: the caller asks the sender for one
    // A frame the decoder could not decode (its reference was lost) never comes out; vpxdec then
    // outputs nothing until the next keyframe. Forget such frames, or every later one would carry an
    // older frame's timestamp.
    const now = performance.now();
    if (this.timestamps.length > 0 && now - this.timestamps[0]!.fedAt > LOST_AFTER_MS) {
      this.timestamps = this.timestamps.filter((entry) => now - entry.fedAt <= LOST_AFTER_MS);
    }
    this.timestamps.push({ timestamp, fedAt: now });
    // IVF timestamps count frames (time base 1/30 from the header); one output frame per input frame.
    this.child.stdin.write(ivfFrame(vp8, this.frameIndex++));
    return true;
  }

  close(): void {
    this.closed = true;
    stopProcess(this.child);
    this.child = undefined;
  }

  private restart(width: number, height: number): void {
    stopProcess(this.child);
    this.width = width;
    this.height = height;
    this.pending = [];
    this.pendingBytes = 0;
    this.timestamps = [];
    this.frameIndex = 0;
    const child = startProcess(
      this.program,
      (chunk) => this.onBytes(chunk, width, height),
      (reason) => {
        if (this.child === child && !this.closed) this.onError(reason);
      },
    );
    this.child = child;
    child.stdin.write(ivfFileHeader(width, height));
  }

  private onBytes(chunk: Buffer, width: number, height: number): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frameBytes = i420Size(width, height);
    if (this.pendingBytes < frameBytes) return;
    let all = Buffer.concat(this.pending, this.pendingBytes);
    while (all.length >= frameBytes) {
      // A buffer whose whole memory is exactly this frame (not Node's shared pool) is the frame; else copy.
      const owned = all.byteOffset === 0 && all.buffer.byteLength === frameBytes;
      const data = owned ? new Uint8Array(all.buffer, 0, frameBytes) : new Uint8Array(all.subarray(0, frameBytes));
      all = all.subarray(frameBytes);
      this.onFrame({ width, height, format: 'i420', data, timestamp: this.timestamps.shift()?.timestamp ?? 0 });
    }
    this.pending = all.length ? [Buffer.from(all)] : [];
    this.pendingBytes = all.length;
  }
}

/** I420 → VP8 with a persistent realtime libvpx ffmpeg process for one frame size. */
class FfmpegEncoder implements VideoEncoder {
  private readonly child: Child;
  private readonly timestamps: number[] = [];
  private closed = false;

  constructor(
    readonly width: number,
    readonly height: number,
    options: VideoEncoderOptions,
    onPacket: (vp8: Buffer, keyframe: boolean, timestamp: number) => void,
    onError: (reason: string) => void,
  ) {
    const fps = options.frameRate ?? 30;
    const reader = new IvfReader((data) => onPacket(data, (data[0]! & 1) === 0, this.timestamps.shift() ?? 0));
    this.child = startProcess(
      ffmpegProgram([
        '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
        '-fps_mode', 'passthrough', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-threads', '1',
        '-error-resilient', '1', '-b:v', `${options.bitrateKbps ?? 1000}k`,
        // A keyframe every ~2 s: a lost one heals quickly.
        '-g', String(Math.round(fps * (options.keyframeIntervalS ?? 2))),
        '-flush_packets', '1', '-f', 'ivf', 'pipe:1',
      ]),
      (chunk) => {
        try {
          reader.push(chunk);
        } catch (error) {
          onError((error as Error).message);
        }
      },
      (reason) => {
        if (!this.closed) onError(reason);
      },
    );
  }

  get inFlight(): number {
    return this.timestamps.length;
  }

  encode(frame: VideoFrame): void {
    if (this.closed) return;
    this.timestamps.push(frame.timestamp);
    this.child.stdin.write(frame.data);
  }

  close(): void {
    this.closed = true;
    stopProcess(this.child);
  }
}

export interface FfmpegVideoCodecOptions {
  /**
   * Which program decodes: `auto` (default) takes libvpx's `vpxdec` when it and `stdbuf` are
   * installed (it passes each frame on at once) and ffmpeg otherwise; `ffmpeg` always ffmpeg.
   */
  decoder?: 'auto' | 'ffmpeg';
}

/**
 * The default video codec: child processes per peer, found through FFMPEG_PATH / VPXDEC_PATH or
 * PATH. ffmpeg encodes (libvpx, realtime); vpxdec decodes where installed, else ffmpeg.
 */
export class FfmpegVideoCodec implements VideoCodec {
  readonly name: string;
  private readonly decoder: Program;

  constructor(options: FfmpegVideoCodecOptions = {}) {
    findFfmpeg(); // one clear error at Stream creation when ffmpeg is missing
    const vpxdec = options.decoder === 'ffmpeg' ? undefined : findVpxdec();
    this.decoder = vpxdec ?? ffmpegProgram(FFMPEG_DECODER);
    this.name = vpxdec ? 'vpxdec+ffmpeg-libvpx' : 'ffmpeg-libvpx';
  }

  createDecoder(onFrame: (frame: VideoFrame) => void, onError: (reason: string) => void): VideoDecoder {
    return new ProcessDecoder(this.decoder, onFrame, onError);
  }

  createEncoder(
    width: number,
    height: number,
    options: VideoEncoderOptions,
    onPacket: (vp8: Buffer, keyframe: boolean, timestamp: number) => void,
    onError: (reason: string) => void,
  ): VideoEncoder {
    return new FfmpegEncoder(width, height, options, onPacket, onError);
  }
}
