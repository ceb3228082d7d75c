import { createRequire } from 'node:module';
import type { PauseDetector, SpeechScorer } from './pause-detector.js';

const require = createRequire(import.meta.url);

/** The part of onnxruntime-node's API the detector uses (it is an optional dependency). */
interface OrtTensor {
  readonly data: ArrayLike<number | bigint>;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}
interface Ort {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
}

/** Where the Silero v5 model ships: inside an npm package (no download at run time). */
export function sileroModelPath(): string {
  return require.resolve('@ricky0123/vad-web/dist/silero_vad_v5.onnx');
}

let shared: Promise<{ ort: Ort; session: OrtSession }> | undefined;

/** Loads onnxruntime-node and the model once per process; every session shares the instance. */
function loadModel(): Promise<{ ort: Ort; session: OrtSession }> {
  shared ??= (async () => {
    const ort = require('onnxruntime-node') as Ort;
    // One thread each: these machines have 2 cores and many sessions; keep the event loop free.
    const session = await ort.InferenceSession.create(sileroModelPath(), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { ort, session };
  })();
  shared.catch(() => (shared = undefined));
  return shared;
}

/** True when onnxruntime-node and the model can be loaded here. */
export async function sileroAvailable(): Promise<boolean> {
  try {
    await loadModel();
    return true;
  } catch {
    return false;
  }
}

/**
 * Silero VAD v5 through onnxruntime-node, streaming: each session keeps its recurrent state and the
 * last 64 (16 kHz) or 32 (8 kHz) samples, which v5 expects prepended to every 512/256-sample window.
 * Without that context the model runs but scores lower (silero-vad issue #771).
 */
export class SileroDetector implements PauseDetector {
  readonly name = 'silero-v5';

  async createScorer(sampleRate: 8000 | 16000): Promise<SpeechScorer> {
    const { ort, session } = await loadModel();
    const windowSamples = sampleRate === 8000 ? 256 : 512;
    const contextSamples = sampleRate === 8000 ? 32 : 64;
    const rate = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
    const input = new Float32Array(contextSamples + windowSamples);
    let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
    return {
      windowSamples,
      async score(window: Float32Array): Promise<number> {
        input.set(window.subarray(0, windowSamples), contextSamples);
        const out = await session.run({ input: new ort.Tensor('float32', input.slice(), [1, input.length]), state, sr: rate });
        input.copyWithin(0, windowSamples, windowSamples + contextSamples);
        state = out.stateN!;
        return Number(out.output!.data[0]);
      },
    };
  }
}
