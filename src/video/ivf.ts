/** IVF, the tiny container ffmpeg reads and writes VP8 in over pipes. */

const FILE_HEADER = 32;
const FRAME_HEADER = 12;

/** The 32-byte file header (fourcc VP80). */
export function ivfFileHeader(width: number, height: number, frameRate = 30): Buffer {
  const h = Buffer.alloc(FILE_HEADER);
  h.write('DKIF', 0, 'ascii');
  h.writeUInt16LE(0, 4);
  h.writeUInt16LE(FILE_HEADER, 6);
  h.write('VP80', 8, 'ascii');
  h.writeUInt16LE(width, 12);
  h.writeUInt16LE(height, 14);
  h.writeUInt32LE(frameRate, 16);
  h.writeUInt32LE(1, 20);
  h.writeUInt32LE(0, 24);
  return h;
}

/** One frame with its 12-byte header. */
export function ivfFrame(data: Buffer, pts: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeUInt32LE(data.length, 0);
  h.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(pts))), 4);
  return Buffer.concat([h, data]);
}

/** Splits an IVF byte stream (as it arrives from a pipe) into frames. */
export class IvfReader {
  private buffer: Buffer = Buffer.alloc(0);
  private headerSeen = false;

  constructor(private readonly onFrame: (data: Buffer, pts: number) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.headerSeen) {
      if (this.buffer.length < FILE_HEADER) return;
      if (this.buffer.toString('ascii', 0, 4) !== 'DKIF') throw new Error('not an IVF stream');
      this.buffer = this.buffer.subarray(this.buffer.readUInt16LE(6));
      this.headerSeen = true;
    }
    while (this.buffer.length >= FRAME_HEADER) {
      const size = this.buffer.readUInt32LE(0);
      if (this.buffer.length < FRAME_HEADER + size) return;
      const pts = Number(this.buffer.readBigUInt64LE(4));
      this.onFrame(Buffer.from(this.buffer.subarray(FRAME_HEADER, FRAME_HEADER + size)), pts);
      this.buffer = this.buffer.subarray(FRAME_HEADER + size);
    }
  }
}

/** Width and height of a VP8 keyframe (RFC 6386 §9.1), or undefined for an interframe. */
export function vp8KeyframeSize(frame: Buffer): { width: number; height: number } | undefined {
  if (frame.length < 10 || (frame[0]! & 1) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}
