/**
 * A quick check while working on the hot path: server CPU per echoed frame, bare ws echo against
 * callstream's echo, at N calls, interleaved R times (min / median / max). Not a scenario of its own:
 * `npx tsx bench/quick-ratio.ts [calls] [rounds] [handler]` (npm run build first).
 */
import { cpuBetween, measureLoad, type ServerStats, spawnProc, startServer } from './children.js';

const [callsArg = '100', roundsArg = '3', handler = 'echo'] = process.argv.slice(2);
const calls = Number(callsArg);

async function perFrame(kind: 'bare' | 'callstream'): Promise<number> {
  const server = await startServer('server.ts', kind === 'bare' ? ['bare'] : ['callstream', handler]);
  try {
    const warm = spawnProc('load.ts', [String(server.port), '20', '2', 'phased']);
    await measureLoad(warm, () => server.stats(), true);
    const generator = spawnProc('load.ts', [String(server.port), String(calls), '4', 'phased']);
    const { result, before, after } = await measureLoad<{ received: number }, ServerStats>(generator, () => server.stats(), true);
    return cpuBetween(before, after) / Math.max(1, result.received);
  } finally {
    server.stop();
  }
}

const bare: number[] = [];
const ours: number[] = [];
for (let r = 0; r < Number(roundsArg); r++) {
  bare.push(await perFrame('bare'));
  ours.push(await perFrame('callstream'));
  process.stdout.write(`round ${r + 1}: bare ${bare.at(-1)!.toFixed(1)} µs, callstream ${ours.at(-1)!.toFixed(1)} µs, ratio ${(bare.at(-1)! / ours.at(-1)!).toFixed(2)}\n`);
}
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(2)} / ${s[Math.floor(s.length / 2)]!.toFixed(2)} / ${s.at(-1)!.toFixed(2)}`;
};
const ratios = bare.map((b, i) => b / ours[i]!);
process.stdout.write(`${calls} calls, ${handler}: bare ${spread(bare)} µs, callstream ${spread(ours)} µs, ratio bare/callstream ${spread(ratios)}\n`);
