/**
 * Scale-out: what cluster mode on Redis adds to a phone call's setup and to each media frame, against
 * single mode measured in the same run, and what `callstream serve --workers 2` holds against one
 * process. Every figure is measured RUNS times and printed as min / median / max.
 */
import os from 'node:os';
import { mediaRuns } from './cluster-media.js';
import { type Mode, setupRuns } from './cluster-setup.js';
import { type WorkerLadder, workerRuns } from './cluster-workers.js';
import { type BenchResult, spread } from './report.js';

const RUNS = 3;
/** Setup calls per run: BATCHES batches of SETUP_CALLS, held until timed, modes alternating. */
const BATCHES = 5;
const SETUP_CALLS = 200;
const CONCURRENT = 20;
const MEDIA_CALLS = 100;
/** The goal of the issue: added setup latency, p99, on loopback (ms). */
const ADDED_P99_GOAL_MS = 2;
/** "Unchanged" per-frame CPU, given this VM's run-to-run noise (about ±5 %). */
const FRAME_RATIO_GOAL = 0.95;

type Step = 'webhook' | 'stream' | 'total';
const STEP_NAMES: Record<Step, string> = { webhook: 'webhook → TwiML', stream: 'upgrade + start → first echo', total: 'whole setup' };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

export async function clusterScenario(): Promise<BenchResult> {
  const loadBefore = os.loadavg()[0]!;
  const started = performance.now();
  process.stdout.write('  setup latency: single mode (one instance) against cluster mode (webhook on one instance, stream on another)\n');
  const setup = await setupRuns(RUNS, BATCHES, SETUP_CALLS, CONCURRENT);
  process.stdout.write('  server CPU per echoed frame\n');
  const media = await mediaRuns(RUNS, MEDIA_CALLS);
  process.stdout.write('  capacity: callstream serve --workers 1, then --workers 2\n');
  const ladders = await workerRuns(RUNS);
  const loadAfter = os.loadavg()[0]!;

  const runsOf = (mode: Mode, width: number) => setup.filter((r) => r.mode === mode && r.concurrency === width);
  const setupRows = (mode: Mode) => {
    const rows: Record<string, string> = {};
    for (const width of [1, CONCURRENT]) {
      const runs = runsOf(mode, width);
      for (const step of ['webhook', 'stream', 'total'] as const) {
        for (const p of ['p50', 'p99'] as const) rows[`setup ${width} at a time, ${STEP_NAMES[step]} ${p} (ms)`] = spread(runs.map((r) => r[step][p]), 2);
      }
      rows[`setup ${width} at a time, server CPU per call (µs)${mode === 'cluster' ? ', both instances' : ''}`] = spread(runs.map((r) => r.serverUsPerCall), 0);
    }
    return rows;
  };
  // Differences and ratios are taken within a round (modes interleaved), then spread over the rounds.
  const added = (width: number, step: Step, p: 'p50' | 'p99') => {
    const single = runsOf('single', width);
    return runsOf('cluster', width).map((c, i) => c[step][p] - single[i]![step][p]);
  };
  const addedRows: Record<string, string> = {};
  for (const width of [1, CONCURRENT]) {
    for (const step of ['webhook', 'stream', 'total'] as const) {
      for (const p of ['p50', 'p99'] as const) addedRows[`added ${p}, ${width} at a time, ${STEP_NAMES[step]} (ms)`] = spread(added(width, step, p), 2);
    }
    const single = runsOf('single', width);
    addedRows[`setup CPU per call, ${width} at a time, cluster (both instances) / single`] = spread(runsOf('cluster', width).map((c, i) => c.serverUsPerCall / single[i]!.serverUsPerCall), 2);
  }
  const clusterSetup = setup.filter((r) => r.mode === 'cluster');

  const mediaOf = (mode: Mode) => media.filter((r) => r.mode === mode);
  const frameRatios = mediaOf('cluster').map((c, i) => mediaOf('single')[i]!.cpuUsPerFrame / c.cpuUsPerFrame);
  const clusterMedia = mediaOf('cluster');
  // Each instance renews all its leases in one script every 3 s: that, and nothing per frame.
  const onlyRenewals = clusterMedia.every((r) => (r.redisScripts ?? Infinity) <= Math.ceil(r.wallS / 3) + 1);

  const laddersOf = (workers: number) => ladders.filter((l) => l.workers === workers);
  const capacity = (workers: number) => laddersOf(workers).map((l) => l.maxCalls);
  const capacityRatios = laddersOf(2).map((l, i) => l.maxCalls / Math.max(1, laddersOf(1)[i]!.maxCalls));
  const coresAtTop = (workers: number) => cores(laddersOf(workers));

  const failures = setup.reduce((n, r) => n + r.failures.length, 0);
  return {
    title: `cluster mode (Redis) against single mode, serve --workers 2 against one process; every figure min / median / max of ${RUNS} runs`,
    figures: {
      ...setupRows('cluster'),
      'setup, Redis per call: CPU (µs) / scripts (round trips) / commands': `${spread(clusterSetup.map((r) => r.redisUsPerCall!), 0)} µs; ${spread(clusterSetup.map((r) => r.redisScriptsPerCall!), 1)}; ${spread(clusterSetup.map((r) => r.redisCommandsPerCall!), 1)}`,
      [`server CPU per echoed frame at ${MEDIA_CALLS} calls, cluster mode (µs)`]: spread(clusterMedia.map((r) => r.cpuUsPerFrame)),
      [`Redis over the media phase at ${MEDIA_CALLS} calls (about 4.5 s): scripts / commands`]: `${spread(clusterMedia.map((r) => r.redisScripts!), 0)}; ${spread(clusterMedia.map((r) => r.redisCommands!), 0)}`,
      'max calls, serve --workers 2': spread(capacity(2), 0),
      'cores used at the first failing step, --workers 2: server / load generator / rest of the machine': coresAtTop(2),
    },
    baseline: {
      ...setupRows('single'),
      [`server CPU per echoed frame at ${MEDIA_CALLS} calls, single mode (µs)`]: spread(mediaOf('single').map((r) => r.cpuUsPerFrame)),
      'max calls, serve --workers 1 (one process)': spread(capacity(1), 0),
      'cores used at the first failing step, --workers 1: server / load generator / rest of the machine': coresAtTop(1),
    },
    ratios: {
      ...addedRows,
      'CPU per echoed frame, single / cluster': spread(frameRatios, 2),
      'max calls, --workers 2 / --workers 1': spread(capacityRatios, 2),
    },
    goals: {
      [`added setup latency p99 < ${ADDED_P99_GOAL_MS} ms, whole setup, 1 at a time (median of runs)`]: median(added(1, 'total', 'p99')) < ADDED_P99_GOAL_MS,
      [`added setup latency p99 < ${ADDED_P99_GOAL_MS} ms, whole setup, ${CONCURRENT} at a time (median of runs)`]: median(added(CONCURRENT, 'total', 'p99')) < ADDED_P99_GOAL_MS,
      [`per-frame CPU unchanged: single / cluster ≥ ${FRAME_RATIO_GOAL} (median of runs)`]: median(frameRatios) >= FRAME_RATIO_GOAL,
      'nothing touches Redis per frame: over the media phase, only the lease renewals (one script per 3 s)': onlyRenewals,
      'serve --workers 2 holds more calls than one process (median of runs)': median(capacityRatios) > 1,
      'every setup call went through': failures === 0,
    },
    notes: [
      `machine: 1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; the scenario took ${((performance.now() - started) / 1000).toFixed(0)} s`,
      `setup: ${BATCHES * SETUP_CALLS} calls per run (p99: the ${(BATCHES * SETUP_CALLS) / 100}th slowest), from one client process (warm), first one at a time, then ${CONCURRENT} at a time; each a signed POST webhook (TWILIO_AUTH_TOKEN and PUBLIC_URL set on every instance) then the signed media-stream upgrade, connected, start with the TwiML's token and one media frame; timed to the first echoed frame`,
      `setup: single mode is one instance; cluster mode two instances on one redis-server (loopback), the webhook on one and the stream on the other. Calls go in batches of ${SETUP_CALLS}, held until the batch is timed, then hung up (teardown is in no figure); batches alternate between the modes, and the added figures are cluster − single within a round`,
      'setup CPU: server processes only, from the first webhook to the last first echo (both instances in cluster mode); Redis apart. Its scripts count the round trips (announce on the webhook; take and two claims on the stream, one after another), commands count those the scripts run too',
      `media: ${MEDIA_CALLS} calls from the telephone load generator (no webhook), the same echo server process without and with the cluster option; CPU over the media phase only. The Redis scripts over it are the leases' renewal (every 3 s, one script per instance for all it holds)`,
      'workers: callstream serve (compiled bin) --workers 1 (one process) and --workers 2 (node:cluster, the hub in the primary over IPC, no Redis), with no concurrency limit (as shipped). Steps of 100-200 calls, 4 s each, until one has < 99 % echoed or any frame > 40 ms late, then one step halfway back',
      'workers: the load generator is one process on the same 2 cores; the cores the server, the generator and the rest of the machine (other processes, the hypervisor\'s steal) used are shown per step above, and at the first failing step in the figures, with the largest delay of the generator\'s own event loop (a stall there makes echoes late whatever the server does)',
      `workers: 1-minute load average when each ladder began, --workers 1: ${laddersOf(1).map((l) => l.loadAverage.toFixed(2)).join(', ')}; --workers 2: ${laddersOf(2).map((l) => l.loadAverage.toFixed(2)).join(', ')}`,
    ],
    data: { setup, media, ladders },
  };
}

/**
 * Cores used by server / load generator / the rest of the machine at each ladder's first failing step
 * (or its last step), and how late the generator's own event loop ran there.
 */
function cores(ladders: WorkerLadder[]): string {
  return ladders
    .map((l) => {
      const s = l.steps.find((step) => !step.ok) ?? l.steps.at(-1);
      return s ? `${s.calls} calls: ${s.serverCores.toFixed(2)} / ${s.generatorCores.toFixed(2)} / ${s.otherCores.toFixed(2)}, generator's loop ${s.generatorLoopDelayMaxMs.toFixed(0)} ms late` : 'n/a';
    })
    .join('; ');
}
