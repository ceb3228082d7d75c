const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];

/** Power of one frequency in a block (the Goertzel algorithm). */
export function goertzel(samples: Int16Array, start: number, length: number, frequency: number, sampleRate: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + length; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

/**
 * Decodes DTMF digits from audio, independently of the generator: 20 ms blocks, the strongest row
 * and column must both stand well above the others and above a floor; a digit is reported once
 * per run of blocks.
 */
export function decodeDtmf(samples: Int16Array, sampleRate: number): string {
  const block = Math.round(sampleRate / 50);
  let digits = '';
  let previous = '';
  for (let start = 0; start + block <= samples.length; start += block) {
    const rows = ROWS.map((f) => goertzel(samples, start, block, f, sampleRate));
    const columns = COLUMNS.map((f) => goertzel(samples, start, block, f, sampleRate));
    const row = rows.indexOf(Math.max(...rows));
    const column = columns.indexOf(Math.max(...columns));
    const energy = samples.subarray(start, start + block).reduce((n, s) => n + s * s, 0);
    const clear =
      rows[row]! > 8 * Math.max(...rows.filter((_, i) => i !== row)) &&
      columns[column]! > 8 * Math.max(...columns.filter((_, i) => i !== column)) &&
      energy / block > 1e5;
    const digit = clear ? KEYS[row]![column]! : '';
    if (digit && digit !== previous) digits += digit;
    previous = digit;
  }
  return digits;
}
