/**
 * Streaming polyphase windowed-sinc resampler for 16-bit mono PCM.
 *
 * The rate change is the reduced fraction L/M = outputRate/inputRate. Conceptually the input is
 * upsampled by L (zero stuffing), low-pass filtered at the high rate and decimated by M; the
 * polyphase form computes only the outputs that survive decimation and skips the zero products,
 * so each output costs `taps` multiply-adds (filter design: fir-design.ts; the multiply-add loop,
 * WebAssembly SIMD or bit-identical JavaScript: fir-kernel.ts).
 *
 * Filter banks are designed once per (L, M, quality) and shared by all instances, so creating a
 * Resampler per call/session is cheap: its own state is a short input history and a position.
 */

import { bankFor, isFilterQuality, type FilterBank, type FilterQuality } from './fir-design.js';
import { firKernel, SLICE, type FirKernel, type FirStream } from './fir-kernel.js';

/** Filter quality: 'good' (≥ 60 dB stopband, default) or 'fast' (≈ 50 dB, under half the work). */
export type ResamplerQuality = FilterQuality;

export interface ResamplerOptions {
  /** Filter quality, 'good' by default. */
  readonly quality?: ResamplerQuality;
  /** Use the WebAssembly SIMD kernel when available (default true). Output is identical either way. */
  readonly simd?: boolean;
}

function checkRate(name: string, rate: number): void {
  if (!Number.isInteger(rate) || rate <= 0) {
    throw new RangeError(`Resampler: ${name} must be a positive integer, got ${rate}`);
  }
}

const EMPTY = new Int16Array(0);

/**
 * Stateful resampler for one stream of 16-bit mono PCM.
 *
 * Chunking does not matter: feeding a signal in pieces of any size yields exactly the same
 * samples as feeding it at once, and after n input samples exactly ceil(n·out/in) output samples
 * have been produced (no drift). Output sample `delaySamples + m` lines up with input time
 * `m·in/out`. Output saturates to the int16 range.
 *
 * Returned arrays are views of a buffer owned by this instance: they are valid only until the next
 * call to `process`, `flush` or `reset` on it (copy them to keep them). Buffers are reused, so in
 * steady state a call allocates no sample memory. For equal rates `process` returns its argument.
 */
export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Group delay of the filter, in output samples (0 for equal rates). */
  readonly delaySamples: number;

  /** The filter and the kernel running it; undefined for equal rates. */
  private readonly bank: FilterBank | undefined;
  private readonly kernel: FirKernel | undefined;
  private readonly stream: FirStream;
  private output: Int16Array = EMPTY;
  private view: Int16Array = EMPTY;

  constructor(inputRate: number, outputRate: number, options: ResamplerOptions = {}) {
    checkRate('inputRate', inputRate);
    checkRate('outputRate', outputRate);
    const quality = options.quality ?? 'good';
    if (!isFilterQuality(quality)) throw new RangeError(`Resampler: unknown quality ${String(quality)}`);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    if (inputRate === outputRate) {
      this.bank = undefined;
      this.kernel = undefined;
      this.delaySamples = 0;
      this.stream = { history: new Float32Array(0), length: 0, index: 0, phase: 0 };
      return;
    }
    this.bank = bankFor(inputRate, outputRate, quality);
    this.kernel = firKernel(options.simd !== false);
    this.delaySamples = this.bank.delay;
    this.stream = { history: this.kernel.createHistory(this.bank), length: 0, index: 0, phase: 0 };
    this.reset();
  }

  /**
   * Resamples the next chunk of the stream and returns the output samples it completes: a view
   * valid until the next call on this instance (or `input` itself when the rates are equal).
   */
  process(input: Int16Array): Int16Array {
    if (this.bank === undefined) return input;
    return this.run(input, input.length);
  }

  /**
   * Ends the stream: returns the last `delaySamples` outputs still inside the filter (as if the
   * input were followed by silence), then resets the resampler for a new stream.
   */
  flush(): Int16Array {
    const bank = this.bank;
    if (bank === undefined) return EMPTY;
    const zeros = Math.ceil(((bank.delay + 1) * bank.down) / bank.up) + 1;
    const tail = this.run(undefined, zeros);
    this.reset();
    return tail.length === bank.delay ? tail : (this.view = tail.subarray(0, bank.delay));
  }

  /** Forgets the stream: clears the history and the fractional position. */
  reset(): void {
    const bank = this.bank;
    if (bank === undefined) return;
    const stream = this.stream;
    stream.history.fill(0, 0, bank.taps - 1);
    stream.length = bank.taps - 1;
    stream.index = bank.taps - 1;
    stream.phase = 0;
  }

  /** Appends `count` samples (`input`, or zeros when undefined) and computes every output due. */
  private run(input: Int16Array | undefined, count: number): Int16Array {
    const bank = this.bank as FilterBank;
    const kernel = this.kernel as FirKernel;
    const stream = this.stream;
    const out = this.outputView(due(bank, stream, stream.length + count));
    // Large inputs go through in slices, which bounds the scratch memory; the output is the same.
    let written = 0;
    for (let at = 0; at < count; at += SLICE) {
      const n = Math.min(SLICE, count - at);
      const produced = due(bank, stream, stream.length + n);
      kernel.run(bank, stream, input, at, n, produced, out, written);
      written += produced;
    }
    return out;
  }

  /** A view of `size` output samples, reusing the previous view when the size repeats. */
  private outputView(size: number): Int16Array {
    if (size > this.output.length) {
      this.output = new Int16Array(Math.max(size, this.output.length * 2, 1024));
      this.view = this.output.subarray(0, size);
    } else if (size !== this.view.length) {
      this.view = this.output.subarray(0, size);
    }
    return this.view;
  }
}

/** Outputs due once the stream's history holds `total` samples: those positioned before total·L. */
function due(bank: FilterBank, stream: FirStream, total: number): number {
  // Outputs sit at positions index·L + phase + n·M (in 1/L input samples); each needs the
  // input sample at its integer part.
  const ahead = total * bank.up - (stream.index * bank.up + stream.phase);
  return ahead > 0 ? Math.ceil(ahead / bank.down) : 0;
}

/**
 * Resamples a whole buffer at once: the output is time-aligned with the input (the filter delay is
 * removed) and holds round(n·outRate/inRate) samples. Always returns a new array.
 */
export function resampleOnce(input: Int16Array, inRate: number, outRate: number): Int16Array {
  const resampler = new Resampler(inRate, outRate);
  if (inRate === outRate) return input.slice();
  const result = new Int16Array(Math.round((input.length * outRate) / inRate));
  let skip = resampler.delaySamples;
  let written = 0;
  const take = (chunk: Int16Array): void => {
    const from = Math.min(skip, chunk.length);
    skip -= from;
    const n = Math.min(chunk.length - from, result.length - written);
    result.set(chunk.subarray(from, from + n), written);
    written += n;
  };
  take(resampler.process(input));
  take(resampler.flush());
  return result;
}
