/**
 * Profiles the callstream server under phone load: `npx tsx bench/profile.ts [calls] [seconds]`.
 * The server runs in its own process with --cpu-prof while the load generator (another process)
 * sends 50 frames/s per call; then the profile's top functions by self time are printed.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { message, spawnProc } from './children.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const [callsArg = '100', secondsArg = '6'] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'callstream-prof-'));
const server = fork(path.join(here, 'procs/server.ts'), ['callstream', 'echo'], {
  execArgv: ['--import', 'tsx', '--cpu-prof', `--cpu-prof-dir=${dir}`],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const { port } = await message<{ port: number }>(server, 'ready');
const result = await message<{ sent: number; received: number; late: number }>(spawnProc('load.ts', [String(port), callsArg, secondsArg]), 'result');
server.disconnect();
await new Promise((resolve) => server.once('exit', resolve));
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const key = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`;
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
console.log(`load: ${JSON.stringify(result)}; profile ${path.join(dir, file)}`);
for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((time / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
