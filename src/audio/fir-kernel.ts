/**
 * The Resampler's inner loop: out[n] = Σ_j coeffs[phase·taps + j] · history[index - taps + 1 + j],
 * then advance (index, phase) by M/L input samples.
 *
 * Why a WebAssembly kernel: this loop is nearly all of the Resampler's time, and plain JavaScript
 * manages about 1.5–2 ns per tap (measured on Node 20), i.e. about 50 µs per 20 ms frame for
 * 8k→16k (320 outputs × 72 taps), on every frame of every call. The f32x4 kernel below takes about
 * 0.2–0.3 ns per tap: about 5 µs per frame for 8k→16k, 14 µs for 8k→48k (bench/audio.ts). It is
 * hand-assembled (no toolchain) and shared by every Resampler. Where WebAssembly SIMD is unavailable,
 * or with `simd: false`, a JavaScript loop that reproduces its float32 arithmetic operation by
 * operation is used instead, so both give bit-identical output.
 */

import type { FilterBank } from './fir-design.js';

/** Most input samples one `run` call takes; the Resampler slices longer inputs (bounds scratch memory). */
export const SLICE = 4096;

/** A stream's filter state: its input history and the position of its next output. */
export interface FirStream {
  /** Input samples as floats: the oldest still needed first, `length` of them. */
  readonly history: Float32Array;
  length: number;
  /** History index of the newest input sample in the next output's window. */
  index: number;
  /** Position of the next output after input `index`, in 1/L input samples (0 ≤ phase < L). */
  phase: number;
}

export interface FirKernel {
  /** A history buffer large enough for a stream through `bank`. */
  createHistory(bank: FilterBank): Float32Array;
  /**
   * Appends input[from, from + count) (or `count` zeros when undefined; count ≤ SLICE) to the
   * stream's history, writes the next `produced` outputs to out[at...], advances the stream past
   * them and drops the history no later output needs.
   */
  run(
    bank: FilterBank, stream: FirStream, input: Int16Array | undefined, from: number, count: number,
    produced: number, out: Int16Array, at: number,
  ): void;
}

/** The kernel to use: the shared SIMD kernel if wanted and available, else the JavaScript one. */
export function firKernel(simd: boolean): FirKernel {
  if (!simd) return jsKernel;
  if (simdKernel === undefined) simdKernel = loadSimdKernel();
  return simdKernel ?? jsKernel;
}

/** Writes input[from, from + count) (or zeros) into `history` from `at`. */
function appendSamples(
  history: Float32Array, at: number, input: Int16Array | undefined, from: number, count: number,
): void {
  if (input === undefined) history.fill(0, at, at + count);
  else for (let i = 0; i < count; i++) history[at + i] = input[from + i];
}

/**
 * Moves the stream past `produced` outputs, its history now holding `total` samples; returns the
 * index of the first history sample the next output's window needs, from which it is kept.
 */
function advance(bank: FilterBank, stream: FirStream, produced: number, total: number): number {
  const position = stream.phase + produced * bank.down;
  const next = stream.index + Math.floor(position / bank.up);
  const keepFrom = Math.min(next - bank.taps + 1, total);
  stream.phase = position % bank.up;
  stream.length = total - keepFrom;
  stream.index = next - keepFrom;
  return keepFrom;
}

// ---------------------------------------------------------------------------------------------
// JavaScript kernel
// ---------------------------------------------------------------------------------------------

/** Rounds to int16 the way the SIMD kernel does: clamp, round half to even, truncate. */
function toInt16(v: number): number {
  const x = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** The kernel in JavaScript, rounding every operation to float32 in the SIMD kernel's order. */
function firJs(
  bank: FilterBank, produced: number, index: number, phase: number, history: Float32Array, out: Int16Array, at: number,
): void {
  const { up, taps, coeffs } = bank;
  const step = Math.floor(bank.down / up);
  const stepPhase = bank.down % up;
  const f = Math.fround;
  for (let n = 0; n < produced; n++) {
    const c = phase * taps;
    const s = index - taps + 1;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let j = 0; j < taps; j += 8) {
      a0 = f(a0 + f(coeffs[c + j] * history[s + j]));
      a1 = f(a1 + f(coeffs[c + j + 1] * history[s + j + 1]));
      a2 = f(a2 + f(coeffs[c + j + 2] * history[s + j + 2]));
      a3 = f(a3 + f(coeffs[c + j + 3] * history[s + j + 3]));
      a4 = f(a4 + f(coeffs[c + j + 4] * history[s + j + 4]));
      a5 = f(a5 + f(coeffs[c + j + 5] * history[s + j + 5]));
      a6 = f(a6 + f(coeffs[c + j + 6] * history[s + j + 6]));
      a7 = f(a7 + f(coeffs[c + j + 7] * history[s + j + 7]));
    }
    out[at + n] = toInt16(f(f(f(a0 + a4) + f(a1 + a5)) + f(f(a2 + a6) + f(a3 + a7))));
    index += step;
    phase += stepPhase;
    if (phase >= up) {
      phase -= up;
      index++;
    }
  }
}

/** Filters in place in the stream's own history, which has room for SLICE more samples. */
const jsKernel: FirKernel = {
  createHistory: (bank) => new Float32Array(bank.taps + SLICE),
  run(bank, stream, input, from, count, produced, out, at) {
    const { history, length } = stream;
    const total = length + count;
    appendSamples(history, length, input, from, count);
    firJs(bank, produced, stream.index, stream.phase, history, out, at);
    const keepFrom = advance(bank, stream, produced, total);
    if (keepFrom > 0) history.copyWithin(0, keepFrom, total);
  },
};

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernel
// ---------------------------------------------------------------------------------------------

/** Unsigned and signed LEB128, as WebAssembly encodes integers. */
function uleb(n: number): number[] {
  const bytes: number[] = [];
  do {
    const b = n & 0x7f;
    n >>>= 7;
    bytes.push(n !== 0 ? b | 0x80 : b);
  } while (n !== 0);
  return bytes;
}

function sleb(n: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...bytes, b];
    bytes.push(b | 0x80);
  }
}

function f32Bytes(x: number): number[] {
  return Array.from(new Uint8Array(new Float32Array([x]).buffer));
}

/**
 * The FIR kernel as a WebAssembly module importing `env.memory`; in text format:
 *
 *   (func (export "fir") (param $n $index $phase $taps $up $step $stepPhase $coef $hist $out i32)
 *     (local $c $s $e i32) (local $acc0 $acc1 v128)
 *     (block (loop
 *       (br_if 1 (i32.eqz $n))
 *       c = coef + 4·phase·taps; e = c + 4·taps; s = hist + 4·(index - taps + 1)
 *       acc0 = acc1 = 0
 *       (loop  acc0 += f32x4(c) · f32x4(s); acc1 += f32x4(c+16) · f32x4(s+16)
 *              c += 32; s += 32; (br_if 0 (i32.lt_u c e)))
 *       acc0 += acc1
 *       i16[out] = trunc(nearest(min(max((lane0 + lane1) + (lane2 + lane3), -32768), 32767)))
 *       out += 2; index += step; phase += stepPhase
 *       (if (phase >= up) (then phase -= up; index += 1))
 *       n -= 1; (br 0))))
 *
 * `taps` must be a multiple of 8 (the banks are padded so).
 */
function kernelBytes(): Uint8Array<ArrayBuffer> {
  const [N, INDEX, PHASE, TAPS, UP, STEP, STEP_PHASE, COEF, HIST, OUT, C, S, E, ACC0, ACC1] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  ];
  const I32 = 0x7f;
  const V128 = 0x7b;
  const get = (i: number): number[] => [0x20, i];
  const set = (i: number): number[] => [0x21, i];
  const tee = (i: number): number[] => [0x22, i];
  const i32 = (v: number): number[] => [0x41, ...sleb(v)];
  const f32 = (v: number): number[] => [0x43, ...f32Bytes(v)];
  const [ADD, SUB, MUL, EQZ, LT_U, GE_U, SHL] = [0x6a, 0x6b, 0x6c, 0x45, 0x49, 0x4f, 0x74];
  const [BLOCK, LOOP, IF, END, BR, BR_IF, VOID] = [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x40];
  const [F32_ADD, F32_MIN, F32_MAX, F32_NEAREST, I32_TRUNC_F32_S] = [0x92, 0x96, 0x97, 0x90, 0xa8];
  const I32_STORE16 = [0x3b, 1, 0]; // align 2^1, offset 0
  const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
  const vload = (offset: number): number[] => simd(0x00, 0, ...uleb(offset)); // v128.load
  const vzero = simd(0x0c, ...new Array<number>(16).fill(0)); // v128.const 0
  const [VADD, VMUL] = [simd(0xe4), simd(0xe6)]; // f32x4.add, f32x4.mul
  const lane = (i: number): number[] => simd(0x1f, i); // f32x4.extract_lane
  const mac = (acc: number, offset: number): number[] => [
    ...get(acc), ...get(C), ...vload(offset), ...get(S), ...vload(offset), ...VMUL, ...VADD, ...set(acc),
  ];
  const body = [
    BLOCK, VOID, LOOP, VOID,
    ...get(N), EQZ, BR_IF, 1,
    ...get(COEF), ...get(PHASE), ...get(TAPS), MUL, ...i32(2), SHL, ADD, ...tee(C),
    ...get(TAPS), ...i32(2), SHL, ADD, ...set(E),
    ...get(HIST), ...get(INDEX), ...get(TAPS), SUB, ...i32(1), ADD, ...i32(2), SHL, ADD, ...set(S),
    ...vzero, ...set(ACC0), ...vzero, ...set(ACC1),
    LOOP, VOID,
    ...mac(ACC0, 0), ...mac(ACC1, 16),
    ...get(S), ...i32(32), ADD, ...set(S),
    ...get(C), ...i32(32), ADD, ...tee(C), ...get(E), LT_U, BR_IF, 0,
    END,
    ...get(OUT),
    ...get(ACC0), ...get(ACC1), ...VADD, ...tee(ACC0), ...lane(0), ...get(ACC0), ...lane(1), F32_ADD,
    ...get(ACC0), ...lane(2), ...get(ACC0), ...lane(3), F32_ADD, F32_ADD,
    ...f32(-32768), F32_MAX, ...f32(32767), F32_MIN, F32_NEAREST, I32_TRUNC_F32_S, ...I32_STORE16,
    ...get(OUT), ...i32(2), ADD, ...set(OUT),
    ...get(INDEX), ...get(STEP), ADD, ...set(INDEX),
    ...get(PHASE), ...get(STEP_PHASE), ADD, ...tee(PHASE), ...get(UP), GE_U, IF, VOID,
    ...get(PHASE), ...get(UP), SUB, ...set(PHASE), ...get(INDEX), ...i32(1), ADD, ...set(INDEX),
    END,
    ...get(N), ...i32(1), SUB, ...set(N),
    BR, 0,
    END, END, END,
  ];
  const code = [2, 3, I32, 2, V128, ...body]; // locals: 3 × i32, 2 × v128
  const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 10, ...new Array<number>(10).fill(I32), 0]), // type: (10 × i32) -> ()
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 1]), // import memory, min 1 page
    ...section(3, [1, 0]), // one function of type 0
    ...section(7, [1, ...name('fir'), 0x00, 0]), // export it as "fir"
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

type FirFunction = (
  n: number, index: number, phase: number, taps: number, up: number, step: number,
  stepPhase: number, coef: number, hist: number, out: number,
) => void;

function align16(bytes: number): number {
  return (bytes + 15) & ~15;
}

/**
 * The SIMD kernel and its memory: the filter banks in use from address 0, then per-call scratch
 * (the stream's history followed by the new input, then the outputs).
 */
class SimdKernel implements FirKernel {
  private readonly fir: FirFunction;
  private readonly memory: WebAssembly.Memory;
  /** Float32 and Int16 views of the whole memory, renewed when it grows. */
  private f32: Float32Array;
  private i16: Int16Array;
  /** First free byte above the filter banks. */
  private top = 0;
  /** Byte address of each bank's coefficients, once copied into memory. */
  private readonly addresses = new WeakMap<FilterBank, number>();

  constructor(fir: FirFunction, memory: WebAssembly.Memory) {
    this.fir = fir;
    this.memory = memory;
    this.f32 = new Float32Array(memory.buffer);
    this.i16 = new Int16Array(memory.buffer);
  }

  createHistory(bank: FilterBank): Float32Array {
    return new Float32Array(bank.taps);
  }

  run(
    bank: FilterBank, stream: FirStream, input: Int16Array | undefined, from: number, count: number,
    produced: number, out: Int16Array, at: number,
  ): void {
    const { up, down, taps } = bank;
    const length = stream.length;
    const total = length + count;
    const coef = this.bankAddress(bank);
    const hist = align16(this.top);
    const outAddr = align16(hist + Math.max(total, stream.history.length) * 4);
    this.reserve(outAddr + produced * 2);
    const base = hist >> 2;
    this.f32.set(stream.history, base);
    appendSamples(this.f32, base + length, input, from, count);
    this.fir(produced, stream.index, stream.phase, taps, up, Math.floor(down / up), down % up, coef, hist, outAddr);
    out.set(this.i16.subarray(outAddr >> 1, (outAddr >> 1) + produced), at);
    const keepFrom = advance(bank, stream, produced, total);
    stream.history.set(this.f32.subarray(base + keepFrom, base + total));
  }

  /** Makes the memory at least `bytes` long. */
  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.f32.buffer !== this.memory.buffer) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.i16 = new Int16Array(this.memory.buffer);
    }
  }

  /** Byte address of a bank's coefficients, copying them into memory on first use. */
  private bankAddress(bank: FilterBank): number {
    let address = this.addresses.get(bank);
    if (address === undefined) {
      address = this.top;
      this.reserve(address + bank.coeffs.length * 4);
      this.f32.set(bank.coeffs, address >> 2);
      this.addresses.set(bank, address);
      this.top = align16(address + bank.coeffs.length * 4);
    }
    return address;
  }
}

/** The shared SIMD kernel; null when unavailable, undefined until first asked for. */
let simdKernel: SimdKernel | null | undefined;

function loadSimdKernel(): SimdKernel | null {
  try {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes()), { env: { memory } });
    const fir = instance.exports['fir'];
    if (typeof fir === 'function') return new SimdKernel(fir as FirFunction, memory);
  } catch {
    // No WebAssembly or no SIMD support: the JavaScript kernel is used.
  }
  return null;
}
