/**
 * `npm run bench` runs every scenario; `npm run bench -- NAME [NAME...]` runs some. Each prints its
 * figures beside a baseline measured in the same run, how long it took and the machine's load average
 * around it, and writes JSON under bench/results/.
 */
import os from 'node:os';
import { type BenchResult, machine, report } from './report.js';

type Scenario = () => Promise<BenchResult>;

const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  audio: async () => (await import('./audio.js')).audioScenario,
  telephone: async () => (await import('./telephone.js')).telephoneScenario,
  pacing: async () => (await import('./pacing.js')).pacingScenario,
  webrtc: async () => (await import('./webrtc.js')).webrtcScenario,
  opus: async () => (await import('./opus.js')).opusScenario,
  memory: async () => (await import('./memory.js')).memoryScenario,
  vad: async () => (await import('./vad.js')).vadScenario,
  video: async () => (await import('./video.js')).videoScenario,
  cluster: async () => (await import('./cluster.js')).clusterScenario,
  rooms: async () => (await import('./rooms.js')).roomsScenario,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }
  const names = asked.length > 0 ? asked : Object.keys(SCENARIOS);
  process.stdout.write(`callstream benchmarks on ${JSON.stringify(machine())}\n`);
  const started = performance.now();
  const took: string[] = [];
  for (const name of names) {
    const scenario = await SCENARIOS[name]!();
    const loadBefore = os.loadavg();
    const began = performance.now();
    const result = await scenario();
    report(name, result, { seconds: (performance.now() - began) / 1000, loadBefore, loadAfter: os.loadavg() });
    took.push(`${name} ${((performance.now() - began) / 1000).toFixed(0)} s`);
  }
  if (names.length > 1) process.stdout.write(`\ntime per scenario: ${took.join(', ')}\n`);
  process.stdout.write(`\nall done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

await main();
