/**
 * A receiving end for the Opus bench that, like a browser's, can recover a lost packet from the
 * in-band FEC carried by the next one. @evan/opus's Decoder has no `decode_fec` argument, so this
 * calls libopus's own `opus_decode` in the WebAssembly build the package ships (the same library,
 * compiled to wasm), with `decode_fec` set for the recovered frame and a null packet for concealment.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface OpusWasm {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(ptr: number, rate: number, channels: number): number;
  opus_decode(ptr: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
}

let wasm: OpusWasm | undefined;

function instance(): OpusWasm {
  if (wasm) return wasm;
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('@evan/opus')), 'wasm');
  const module = new WebAssembly.Module(readFileSync(path.join(dir, 'opus.wasm')));
  const noop = () => 0;
  const exports = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
    env: { emscripten_notify_memory_growth: noop },
  }).exports as unknown as OpusWasm & { _initialize?: () => void };
  exports._initialize?.();
  wasm = exports;
  return wasm;
}

const MAX_PACKET = 4000;

/** One mono 48 kHz decoder: `decode` a packet, `recover` a lost frame from the next packet's FEC, or `conceal` it. */
export class FecDecoder {
  private readonly opus = instance();
  private readonly state: number;
  private readonly packet: number;
  private readonly pcm: number;

  constructor(private readonly frameSize = 960) {
    this.state = this.opus.malloc(this.opus.opus_decoder_get_size(1));
    this.packet = this.opus.malloc(MAX_PACKET);
    this.pcm = this.opus.malloc(frameSize * 2 * 6);
    const status = this.opus.opus_decoder_init(this.state, 48000, 1);
    if (status < 0) throw new Error(`opus_decoder_init: ${status}`);
  }

  decode(packet: Uint8Array): Int16Array {
    return this.run(packet, 0);
  }

  /** The frame before `next`, from the in-band FEC `next` carries (concealment where it has none). */
  recover(next: Uint8Array): Int16Array {
    return this.run(next, 1);
  }

  conceal(): Int16Array {
    return this.run(undefined, 0);
  }

  close(): void {
    for (const ptr of [this.state, this.packet, this.pcm]) this.opus.free(ptr);
  }

  private run(packet: Uint8Array | undefined, fec: number): Int16Array {
    if (packet) new Uint8Array(this.opus.memory.buffer, this.packet, packet.length).set(packet);
    const samples = this.opus.opus_decode(this.state, packet ? this.packet : 0, packet?.length ?? 0, this.pcm, this.frameSize, fec);
    if (samples < 0) throw new Error(`opus_decode: ${samples}`);
    return new Int16Array(this.opus.memory.buffer, this.pcm, samples).slice();
  }
}
