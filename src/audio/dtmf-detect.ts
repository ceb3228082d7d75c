/**
 * In-band DTMF detection on one frame (Goertzel on the eight Q.23 frequencies): used to keep a
 * participant's key tones out of what the others hear. A frame holds a tone when one row and one
 * column frequency each stand well above the others of their group and together carry most of the
 * frame's energy (speech spreads its energy; a key press does not).
 */
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];

/** Mean square below which a frame is too quiet to hold a key tone (about -45 dBFS). */
const FLOOR = 32768 * 32768 * 10 ** (-45 / 10);

const coefficients = new Map<number, Float64Array>();

function coefficientsFor(sampleRate: number): Float64Array {
  let table = coefficients.get(sampleRate);
  if (!table) {
    table = Float64Array.from([...ROWS, ...COLUMNS], (f) => 2 * Math.cos((2 * Math.PI * f) / sampleRate));
    coefficients.set(sampleRate, table);
  }
  return table;
}

/** Energy of one frequency in `samples` (the Goertzel algorithm), normalised so a full-length sine of amplitude A gives about A²N/4. */
function power(samples: Int16Array, coefficient: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

/** True when `samples` (16-bit PCM, at least 10 ms) holds a DTMF key tone. */
export function hasDtmfTone(samples: Int16Array, sampleRate: number): boolean {
  const n = samples.length;
  if (n < sampleRate / 100) return false;
  let energy = 0;
  for (let i = 0; i < n; i++) energy += samples[i]! * samples[i]!;
  if (energy / n < FLOOR) return false;
  const table = coefficientsFor(sampleRate);
  const powers = new Float64Array(8);
  for (let k = 0; k < 8; k++) powers[k] = power(samples, table[k]!);
  const best = (from: number): [number, number] => {
    let top = from;
    for (let k = from + 1; k < from + 4; k++) if (powers[k]! > powers[top]!) top = k;
    let second = 0;
    for (let k = from; k < from + 4; k++) if (k !== top && powers[k]! > second) second = powers[k]!;
    return [powers[top]!, second];
  };
  const [row, rowNext] = best(0);
  const [column, columnNext] = best(4);
  if (row < 6 * rowNext || column < 6 * columnNext) return false;
  // A sine of amplitude A over N samples has energy A²N/2 and Goertzel power about A²N²/4: the
  // share of the frame's energy in a bin is 2·power/(N·energy).
  const share = (2 * (row + column)) / (n * energy);
  return share > 0.5;
}
