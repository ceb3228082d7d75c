/**
 * Profiles a server under phone load: `npx tsx bench/profile.ts [calls] [seconds] [callstream|bare]`.
 * The server runs in its own process with --cpu-prof while the load generator (another process)
 * sends 50 frames/s per call; the top functions by self time over the media phase are printed, in
 * µs per echoed frame (run `npm run build` first: the server runs the compiled build).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureLoad, message, spawnProc } from './children.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const [callsArg = '100', secondsArg = '6', kind = 'callstream'] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'callstream-prof-'));
const server = fork(path.join(here, 'procs/server.ts'), kind === 'bare' ? ['bare'] : ['callstream', 'echo'], {
  execArgv: ['--import', 'tsx', '--cpu-prof', `--cpu-prof-dir=${dir}`],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const { port } = await message<{ port: number }>(server, 'ready');
// Only the media phase is kept: the profile's clock and hrtime are both the monotonic clock (µs).
const generator = spawnProc('load.ts', [String(port), callsArg, secondsArg, 'phased']);
const monotonicUs = async () => Number(process.hrtime.bigint() / 1000n);
const { result, before: mediaFrom, after: mediaTo } = await measureLoad<{ sent: number; received: number; late: number }, number>(generator, monotonicUs, true);
server.disconnect();
await new Promise((resolve) => server.once('exit', resolve));
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { startTime: number; nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const layers = new Map<string, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < mediaFrom || at > mediaTo) return;
  const node = byId.get(id)!;
  const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  const layer = layerOf(node.callFrame.url, node.callFrame.functionName);
  layers.set(layer, (layers.get(layer) ?? 0) + dt);
  total += dt;
});
console.log(`load: ${JSON.stringify(result)}; profile ${path.join(dir, file)}`);
const busy = total - (self.get('(idle) :0') ?? 0);
const helpers = [...self].filter(([key]) => key.startsWith('__name ')).reduce((sum, [, time]) => sum + time, 0);
console.log(`media phase: ${(total / 1e6).toFixed(1)} s sampled, ${((busy / total) * 100).toFixed(1)} % busy (tsx's __name helper: ${((helpers / busy) * 100).toFixed(1)} % of busy); shares below are of all samples`);
console.log(`busy CPU per echoed frame: ${(busy / result.received).toFixed(1)} µs; per function (µs per frame):`);
for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(1, 40)) console.log(`${(time / result.received).toFixed(2).padStart(6)}  ${key}`);

console.log('by layer (µs per frame):');
for (const [layer, time] of [...layers].filter(([l]) => l !== '(idle)').sort((a, b) => b[1] - a[1])) {
  console.log(`${(time / result.received).toFixed(2).padStart(6)}  ${layer}`);
}

/** Where a function lives: callstream's own layers, ws, Node's internals, the kernel calls, GC. */
function layerOf(url: string, functionName: string): string {
  const own = /\/(?:dist\/)?(src\/[a-z-]+|handlers)\//.exec(url);
  if (own) return `callstream ${own[1]}`;
  if (url.includes('/ws/lib/')) return 'ws';
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.includes('bench/procs')) return 'bench server';
  return url ? 'other' : functionName;
}
