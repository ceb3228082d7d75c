/**
 * WebRTC capacity: N werift peers against callstream's echo (Opus at the default settings, Opus at
 * libopus's default complexity 9 as callstream had it, PCMU) beside a raw werift echo (RTP sent
 * straight back, no decode) as the baseline; server CPU per peer, every figure min / median / max of
 * ROUNDS rounds with the servers taken in turn. Beside it, the default's cost and quality on the
 * speech fixture (bench/opus.ts).
 */
import os from 'node:os';
import { OPUS_SPEECH_SETTINGS } from '../src/audio/opus.js';
import { cpuBetween, measureLoad, type ServerStats, spawnProc, startServer } from './children.js';
import { measureOpus } from './opus.js';
import { type BenchResult, spread } from './report.js';

const ROUNDS = 3;
const PEERS = 20;
const SECONDS = 6;
const GOAL = 0.6;

type Kind = 'raw' | 'opus' | 'opus9' | 'pcmu';
const SERVERS: Record<Kind, { script: string; args: string[]; codec: 'opus' | 'pcmu'; env?: Record<string, string> }> = {
  raw: { script: 'raw-webrtc.ts', args: [], codec: 'opus' },
  opus: { script: 'server.ts', args: ['callstream', 'echo'], codec: 'opus' },
  opus9: { script: 'server.ts', args: ['callstream', 'echo'], codec: 'opus', env: { BENCH_OPUS_COMPLEXITY: '9' } },
  pcmu: { script: 'server.ts', args: ['callstream', 'echo'], codec: 'pcmu' },
};

interface Run {
  kind: Kind;
  round: number;
  cpuPerPeer: number;
  delivered: number;
  loadAverage: number;
}

/** A run counts when at least this share came back; below it (peers that failed to connect, a stall) it is run again, once. */
const VALID = 0.95;

async function attempt(kind: Kind, round: number): Promise<Run> {
  const { script, args, codec, env } = SERVERS[kind];
  const loadAverage = os.loadavg()[0]!;
  const server = await startServer(script, args, { BENCH_CODEC: codec, ...env });
  try {
    const peers = spawnProc('peers.ts', [server.url, String(PEERS), String(SECONDS), codec]);
    const { result, before, after, wallS } = await measureLoad<{ sent: number; received: number }, ServerStats>(peers, () => server.stats(), false);
    const out = { kind, round, cpuPerPeer: cpuBetween(before, after) / 1e6 / wallS / PEERS, delivered: result.received / Math.max(1, result.sent), loadAverage };
    process.stdout.write(`  [${round + 1}] ${kind}: ${(out.cpuPerPeer * 100).toFixed(2)} % of a core per peer, ${(out.delivered * 100).toFixed(1)} % echoed (load average ${loadAverage.toFixed(2)})\n`);
    return out;
  } finally {
    server.stop();
  }
}

/** A run, again once if it failed or too little came back; NaN if the second one did too. */
async function run(kind: Kind, round: number, failures: string[]): Promise<Run> {
  for (let i = 0; i < 2; i++) {
    try {
      const r = await attempt(kind, round);
      if (r.delivered >= VALID) return r;
      failures.push(`round ${round + 1} ${kind}: ${(r.delivered * 100).toFixed(1)} % echoed`);
    } catch (error) {
      failures.push(`round ${round + 1} ${kind}: ${(error as Error).message}`);
    }
  }
  return { kind, round, cpuPerPeer: NaN, delivered: NaN, loadAverage: os.loadavg()[0]! };
}

export async function webrtcScenario(): Promise<BenchResult> {
  const runs: Run[] = [];
  const failures: string[] = [];
  const order: Kind[] = ['raw', 'opus', 'opus9', 'pcmu'];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated each round, so no server always runs first or last.
    for (let i = 0; i < order.length; i++) runs.push(await run(order[(i + round) % order.length]!, round, failures));
  }
  const of = (kind: Kind) => Array.from({ length: ROUNDS }, (_, r) => runs.find((x) => x.kind === kind && x.round === r)!);
  const cpu = (kind: Kind) => of(kind).map((x) => x.cpuPerPeer);
  const ratio = (kind: Kind) => cpu('raw').map((raw, r) => raw / cpu(kind)[r]!);
  const valid = (values: number[]) => values.filter(Number.isFinite);
  const median = (values: number[]) => [...valid(values)].sort((a, b) => a - b)[Math.floor((valid(values).length - 1) / 2)] ?? NaN;
  const pct = (values: number[]) => spread(valid(values).map((v) => v * 100), 2);
  const echoed = (kind: Kind) => spread(valid(of(kind).map((x) => x.delivered * 100)), 1);

  const { rows } = measureOpus([{ label: 'default', ...OPUS_SPEECH_SETTINGS }, { label: 'complexity 9', ...OPUS_SPEECH_SETTINGS, complexity: 9 }]);
  const [now, before] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const quality = (r: typeof now) => `MCD ${r.clean.mcdDb.toFixed(2)} dB, LSD ${r.clean.lsdDb.toFixed(2)} dB; at 5 % loss (FEC recovered) ${r.lossy.mcdDb.toFixed(2)} / ${r.lossy.lsdDb.toFixed(2)} dB`;
  const settings = `complexity ${OPUS_SPEECH_SETTINGS.complexity}, ${OPUS_SPEECH_SETTINGS.application}, FEC ${OPUS_SPEECH_SETTINGS.inbandFec ? `for ${OPUS_SPEECH_SETTINGS.packetLoss} % loss` : 'off'}, DTX ${OPUS_SPEECH_SETTINGS.dtx ? 'on' : 'off'}`;

  return {
    title: `WebRTC: ${PEERS} werift peers at 50 packets/s each, echo handler (server CPU only); every figure min / median / max of ${ROUNDS} rounds`,
    figures: {
      [`server CPU per peer, Opus (${settings}) (% of a core)`]: pct(cpu('opus')),
      'server CPU per peer, Opus at complexity 9 (the old default) (% of a core)': pct(cpu('opus9')),
      'server CPU per peer, PCMU (% of a core)': pct(cpu('pcmu')),
      'peers per core, Opus / PCMU (median)': `${(1 / median(cpu('opus'))).toFixed(0)} / ${(1 / median(cpu('pcmu'))).toFixed(0)}`,
      'packets echoed, Opus / Opus complexity 9 / PCMU (%)': `${echoed('opus')}; ${echoed('opus9')}; ${echoed('pcmu')}`,
      'Opus encode + decode per 20 ms frame of speech, default / complexity 9 (µs)': `${spread(now.codecUs)}; ${spread(before.codecUs)}`,
      'Opus quality on the speech fixture, default (distance from the original)': quality(now),
      'Opus quality on the speech fixture, complexity 9': quality(before),
    },
    baseline: {
      'raw werift echo (no decode) CPU per peer (% of a core)': pct(cpu('raw')),
      'raw werift echo peers per core (median)': (1 / median(cpu('raw'))).toFixed(0),
      'raw packets echoed (%)': echoed('raw'),
    },
    ratios: {
      'CPU per peer, raw / callstream Opus': spread(valid(ratio('opus')), 2),
      'CPU per peer, raw / callstream Opus at complexity 9': spread(valid(ratio('opus9')), 2),
      'CPU per peer, raw / callstream PCMU': spread(valid(ratio('pcmu')), 2),
    },
    goals: {
      [`CPU per peer, raw / callstream Opus ≥ ${GOAL} (median of rounds; ${ratio('opus').filter((v) => v >= GOAL).length} of ${ROUNDS} rounds)`]: median(ratio('opus')) >= GOAL,
    },
    notes: [
      `load: 1-minute load average at each run ${runs.map((r) => r.loadAverage.toFixed(2)).join(', ')}`,
      `runs with < ${VALID * 100} % echoed or that failed are run again once, then left out (NaN): ${failures.length ? failures.join('; ') : 'none'}`,
      'servers in turn within a round (raw, Opus, Opus complexity 9, PCMU, the order rotated each round); each run a fresh server and peer process, CPU over the media only; ratios are taken within a round',
      'the raw echo is werift\'s own work (SRTP, ICE, RTCP), the floor both servers share; callstream adds the session and pacing (the PCMU figure) and, with Opus, a decode and an encode per frame (the encoder most of it)',
      'quality: bench/opus.ts\'s mel-cepstral (MCD) and log-spectral (LSD) distance of the decoded speech fixture from the original, lower is better; `npm run bench -- opus` compares every setting',
    ],
    data: { runs, failures, opus: rows },
  };
}
