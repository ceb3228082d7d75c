import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ToFormat } from '../audio/convert.js';
import type { PcmFrame } from '../audio/frame.js';
import type { RecordOptions } from './recorder.js';
import { WAV_HEADER_BYTES, wavHeader } from './wav-writer.js';

/** What a room recorder needs of a room: its name, its whole mix per tick, where its clock is, its end. */
export interface RecordedRoom {
  readonly name: string;
  /** Ticks run and skipped so far: the mix clock's position in 20 ms frames. */
  clockState(): { ticks: number; skippedTicks: number };
  on(event: 'mix', listener: (frame: PcmFrame) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

const HEADER_BYTES = WAV_HEADER_BYTES;
const header = (sampleRate: number, dataBytes: number) => wavHeader(sampleRate, 1, dataBytes);

/**
 * Records a room to one mono 16-bit WAV: the whole mix (every voice and everything handlers sent to
 * the room), as the mix clock made it, from the room's first tick to its close. A tick the clock
 * skipped is written as silence, so the file's time is the room's time. What a handler says to its
 * own participant alone (`ctx.send()`) is not in it: that is in the session's own recording.
 */
export class RoomRecorder {
  readonly file: string;
  readonly finished: Promise<void>;
  private readonly fd: Promise<FileHandle>;
  private readonly toFile: ToFormat;
  private readonly frameSamples: number;
  private chain: Promise<void>;
  private dataBytes = 0;
  private frames = 0;

  constructor(room: RecordedRoom, options: RecordOptions) {
    const rate = options.sampleRate ?? 16000;
    mkdirSync(options.directory, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    this.file = path.join(options.directory, `room-${room.name.replace(/[^A-Za-z0-9_-]/g, '_')}-${stamp}-${Math.random().toString(36).slice(2, 6)}.wav`);
    this.toFile = new ToFormat({ encoding: 'pcm16', sampleRate: rate });
    this.frameSamples = rate / 50;
    this.fd = open(this.file, 'w');
    this.chain = this.fd.then((fd) => fd.write(header(rate, 0), 0, HEADER_BYTES, 0)).then(() => undefined);
    // A failed write must not reject into nobody's hands: it is reported when the file is finished.
    this.chain.catch(() => {});
    room.on('mix', (frame) => {
      const { ticks, skippedTicks } = room.clockState();
      const missing = ticks + skippedTicks - 1 - this.frames;
      if (missing > 0) this.append(new Int16Array(missing * this.frameSamples), missing);
      const pcm = this.toFile.convert(frame);
      if (pcm.encoding === 'pcm16') this.append(pcm.samples, 1);
    });
    this.finished = new Promise((resolve, reject) => {
      room.once('close', () => {
        this.chain = this.chain.then(async () => {
          const fd = await this.fd;
          await fd.write(header(rate, this.dataBytes), 0, HEADER_BYTES, 0);
          await fd.close();
        });
        this.chain.then(resolve, reject);
      });
    });
  }

  private append(samples: Int16Array, frames: number): void {
    this.frames += frames;
    const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const copy = Buffer.from(bytes);
    const position = HEADER_BYTES + this.dataBytes;
    this.dataBytes += copy.length;
    this.chain = this.chain.then(async () => {
      await (await this.fd).write(copy, 0, copy.length, position);
    });
  }
}
