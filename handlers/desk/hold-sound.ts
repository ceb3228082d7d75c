import { type PcmFrame, pcmFrame } from '../../src/index.js';

const RATE = 8000;
const CHUNK_MS = 200;

/**
 * What a waiting caller hears: a soft two-note chime (440 and 660 Hz, 300 ms, faded in and out)
 * every two seconds, in 200 ms chunks at 8 kHz, for ever (stop it with the play's signal).
 */
export function* holdSound(): Generator<PcmFrame> {
  const chunk = (RATE * CHUNK_MS) / 1000;
  const period = 2 * RATE;
  const chime = 0.3 * RATE;
  let t = 0;
  for (;;) {
    const samples = new Int16Array(chunk);
    for (let i = 0; i < chunk; i++, t++) {
      const at = t % period;
      if (at >= chime) continue;
      const fade = Math.min(1, at / 400, (chime - at) / 400);
      const s = Math.sin((2 * Math.PI * 440 * at) / RATE) + 0.6 * Math.sin((2 * Math.PI * 660 * at) / RATE);
      samples[i] = Math.round(2200 * fade * s);
    }
    yield pcmFrame(samples, RATE);
  }
}
