import { type PcmFrame, type PlayedEvent, pcmFrame, type SessionContext } from '../../src/index.js';

const RATE = 8000;

/** Tones of `ms` each (0 Hz: a gap), one after another, with 5 ms fades: 16-bit PCM at 8 kHz. */
function tones(parts: [frequencies: number[], ms: number][], amplitude = 6000): PcmFrame {
  const total = parts.reduce((n, [, ms]) => n + (RATE * ms) / 1000, 0);
  const samples = new Int16Array(total);
  let at = 0;
  for (const [frequencies, ms] of parts) {
    const length = (RATE * ms) / 1000;
    for (let i = 0; i < length; i++) {
      const fade = Math.min(1, i / 40, (length - i) / 40);
      let s = 0;
      for (const f of frequencies) s += Math.sin((2 * Math.PI * f * i) / RATE);
      samples[at + i] = frequencies.length === 0 ? 0 : Math.round((amplitude * fade * s) / frequencies.length);
    }
    at += length;
  }
  return pcmFrame(samples, RATE);
}

/** "Key in the PIN now": two rising beeps (660, then 990 Hz). */
export const PROMPT_CUE = tones([[[660], 150], [[], 60], [[990], 150]]);
/** "Wrong PIN": a low tone (330 Hz, 400 ms). */
export const WRONG_CUE = tones([[[330], 400], [[], 150]]);
/** "You are in": three rising notes (523, 659, 784 Hz). */
export const JOINED_CUE = tones([[[523], 100], [[659], 100], [[784], 160]]);
/** "This cannot go on": the reorder tone (480 + 620 Hz, 250 ms on and off, three times). */
export const REFUSED_CUE = tones([[[480, 620], 250], [[], 250], [[480, 620], 250], [[], 250], [[480, 620], 250]]);

/** Sends a cue and resolves once it has played (or the session ended, or a second more than its length passed). */
export function playCue(ctx: SessionContext, cue: PcmFrame): Promise<void> {
  ctx.send(cue);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ctx.off('played', onPlayed);
      ctx.signal.removeEventListener('abort', done);
      resolve();
    };
    const onPlayed = (event: PlayedEvent) => {
      if (event.idle) done();
    };
    const timer = setTimeout(done, (cue.samples.length * 1000) / RATE + 1000);
    ctx.on('played', onPlayed);
    ctx.signal.addEventListener('abort', done, { once: true });
  });
}
