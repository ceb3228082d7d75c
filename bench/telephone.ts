/**
 * Telephone CPU, capacity and added latency: Twilio-protocol calls from a load generator process
 * against server processes, callstream (μ-law echo, and a 16 kHz PCM echo) and a bare `ws` echo as
 * the baseline. Every figure is measured in ROUNDS rounds and printed as min / median / max; within a
 * round, bare and callstream run step by step in turn (the order swapped every round), so a ratio is
 * taken between runs seconds apart and its spread over the rounds says how much is noise.
 */
import os from 'node:os';
import { type BenchServer, startServer } from './children.js';
import { type BenchResult, percentile, spread } from './report.js';
import { describe, type TimedTrial, type Trial, trial, withoutSamples } from './telephone-trial.js';

const ROUNDS = 3;
/** Seconds of media per step (the issue's runs used 4). */
const SECONDS = 4;
/** Steps every server climbs; bare and μ-law echo run 50, 100 and 200 whatever happens (the CPU figures). */
const LADDER = [50, 100, 200, 300, 400, 600, 800];
const FIXED = [50, 100, 200];
const PCM_CALLS = 50;

/** The issue's goals. */
const GOAL = { framesRatio: 0.8, pcmRatio: 0.6, capacityRatio: 2 / 3, setupTimes: 2 };

type Kind = 'bare' | 'echo' | 'pcm';

interface Round {
  round: number;
  /** 1-minute load average when the round began. */
  loadAverage: number;
  trials: Record<Kind, Trial[]>;
  /** The largest step of the unbroken run of passing steps (a halfway step included). */
  maxCalls: Record<'bare' | 'echo', number>;
}

const SERVER_ARGS: Record<Kind, string[]> = { bare: ['bare'], echo: ['callstream', 'echo'], pcm: ['callstream', 'echo-pcm16'] };
const LABEL: Record<Kind, string> = { bare: 'bare', echo: 'callstream/echo', pcm: 'callstream/echo-pcm16' };

/** One round: bare and μ-law echo climb the ladder in turn; the PCM echo runs its one step beside them. */
async function round(index: number): Promise<Round> {
  const loadAverage = os.loadavg()[0]!;
  const servers = {} as Record<Kind, BenchServer>;
  const trials: Record<Kind, Trial[]> = { bare: [], echo: [], pcm: [] };
  const maxCalls = { bare: 0, echo: 0 };
  const climbing = { bare: true, echo: true };
  try {
    for (const kind of ['bare', 'echo', 'pcm'] as const) {
      servers[kind] = await startServer('server.ts', SERVER_ARGS[kind]);
      await trial(servers[kind], 20, 2); // warm up (JIT)
    }
    const run = async (kind: Kind, calls: number): Promise<Trial> => {
      const t = withoutSamples(await trial(servers[kind], calls, SECONDS));
      trials[kind].push(t);
      process.stdout.write(`${describe(`[${index + 1}] ${LABEL[kind]}`, t)}\n`);
      return t;
    };
    const order: ('bare' | 'echo')[] = index % 2 === 0 ? ['bare', 'echo'] : ['echo', 'bare'];
    for (const calls of LADDER) {
      for (const kind of order) {
        if (!climbing[kind] && !FIXED.includes(calls)) continue;
        const t = await run(kind, calls);
        if (!climbing[kind]) continue;
        if (t.ok) {
          maxCalls[kind] = calls;
          continue;
        }
        climbing[kind] = false;
        // Once, halfway between the last step passed and this one (to 25 calls).
        const between = Math.round((maxCalls[kind] + calls) / 2 / 25) * 25;
        if (between > maxCalls[kind] && between < calls && (await run(kind, between)).ok) maxCalls[kind] = between;
      }
      if (calls === PCM_CALLS) await run('pcm', PCM_CALLS);
      if (!climbing.bare && !climbing.echo && calls >= Math.max(...FIXED)) break;
    }
  } finally {
    for (const server of Object.values(servers)) server.stop();
  }
  process.stdout.write(`  [${index + 1}] calls held: bare ${maxCalls.bare}, callstream echo ${maxCalls.echo} (load average ${loadAverage.toFixed(2)} when the round began)\n`);
  return { round: index, loadAverage, trials, maxCalls };
}

/** Per-frame latencies from an instrumented server (stamps on arrival, handler entry and socket write). */
async function latencies(calls: number[]): Promise<Map<number, TimedTrial>> {
  const server = await startServer('server.ts', ['callstream', 'echo'], { BENCH_INSTRUMENT: '1' });
  const out = new Map<number, TimedTrial>();
  try {
    await trial(server, 20, 2);
    for (const n of calls) out.set(n, await trial(server, n, SECONDS));
  } finally {
    server.stop();
  }
  return out;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const fmt = (values: number[], digits: number) => spread(values.filter(Number.isFinite), digits);

export async function telephoneScenario(): Promise<BenchResult> {
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await round(r));

  /** The first step at `calls` of each round (NaN where a round did not run it). */
  const at = (kind: Kind, calls: number, pick: (t: Trial) => number) =>
    rounds.map((r) => {
      const t = r.trials[kind].find((x) => x.calls === calls);
      return t ? pick(t) : NaN;
    });
  const cpu = (kind: Kind, calls: number) => at(kind, calls, (t) => t.cpuUsPerFrame);
  const setup = (kind: Kind) => at(kind, 100, (t) => t.setupUsPerCall);
  const perRound = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
  const frameRatio = (calls: number) => perRound(cpu('bare', calls), cpu('echo', calls));
  const pcmRatio = perRound(cpu('bare', PCM_CALLS), cpu('pcm', PCM_CALLS));
  const setupTimes = perRound(setup('echo'), setup('bare'));
  const capacity = (kind: 'bare' | 'echo') => rounds.map((r) => r.maxCalls[kind]);
  const capacityRatio = perRound(capacity('echo'), capacity('bare').map((n) => Math.max(1, n)));
  const roundsMeeting = (values: number[], ok: (v: number) => boolean) => `${values.filter(ok).length} of ${values.length} rounds`;

  const echoMax = median(capacity('echo'));
  const eighty = Math.max(1, Math.round((echoMax * 0.8) / 10) * 10);
  const timed = await latencies([...new Set([1, 100, eighty])]);
  const p = (t: TimedTrial | undefined, side: 'inbound' | 'outbound', q: number) => (t ? percentile(t[side], q) : NaN);
  const pair = (t: TimedTrial | undefined, side: 'inbound' | 'outbound') => `${p(t, side, 50).toFixed(1)} / ${p(t, side, 99).toFixed(1)}`;
  const one = timed.get(1);
  const hundred = timed.get(100);
  const topTimed = timed.get(eighty);

  /** Where the first failing step of each round's ladder spent the cores (what gave out). */
  const atFailure = (kind: 'bare' | 'echo') =>
    rounds
      .map((r) => {
        const t = r.trials[kind].find((x) => !x.ok && x.calls > r.maxCalls[kind]);
        return t ? `${t.calls}: ${t.serverCores.toFixed(2)} / ${t.generatorCores.toFixed(2)} / ${t.otherCores.toFixed(2)}` : 'none failed';
      })
      .join('; ');
  const others = rounds.flatMap((r) => [...r.trials.bare, ...r.trials.echo, ...r.trials.pcm].map((t) => t.otherCores));

  return {
    title: `CPU per echoed frame, setup CPU and calls held (≥ 99 % echoed, none > 40 ms late); every figure min / median / max of ${ROUNDS} rounds, bare and callstream interleaved`,
    figures: {
      'server CPU per echoed frame at 50 calls, μ-law echo (µs)': fmt(cpu('echo', 50), 1),
      'server CPU per echoed frame at 100 calls, μ-law echo (µs)': fmt(cpu('echo', 100), 1),
      'server CPU per echoed frame at 200 calls, μ-law echo (µs)': fmt(cpu('echo', 200), 1),
      [`server CPU per echoed frame at ${PCM_CALLS} calls, 16 kHz PCM echo (µs)`]: fmt(cpu('pcm', PCM_CALLS), 1),
      'server CPU to connect and start one call, at 100 calls, μ-law echo (µs)': fmt(setup('echo'), 0),
      'calls held, μ-law echo': fmt(capacity('echo'), 0),
      'cores at the first failing step, μ-law echo: calls: server / generator / rest': atFailure('echo'),
      'arrival → handler p50 / p99 at 1 call (µs)': pair(one, 'inbound'),
      'handler output → socket write p50 / p99 at 1 call (µs)': pair(one, 'outbound'),
      'arrival → handler p50 / p99 at 100 calls (µs)': pair(hundred, 'inbound'),
      'handler output → socket write p50 / p99 at 100 calls (µs)': pair(hundred, 'outbound'),
      [`arrival → handler p99 at ${eighty} calls (80 % of the median held) (µs)`]: p(topTimed, 'inbound', 99),
      [`handler output → socket write p99 at ${eighty} calls (µs)`]: p(topTimed, 'outbound', 99),
    },
    baseline: {
      'server CPU per echoed frame at 50 calls, bare (µs)': fmt(cpu('bare', 50), 1),
      'server CPU per echoed frame at 100 calls, bare (µs)': fmt(cpu('bare', 100), 1),
      'server CPU per echoed frame at 200 calls, bare (µs)': fmt(cpu('bare', 200), 1),
      'server CPU to connect and start one call, at 100 calls, bare (µs)': fmt(setup('bare'), 0),
      'calls held, bare ws echo': fmt(capacity('bare'), 0),
      'cores at the first failing step, bare: calls: server / generator / rest': atFailure('bare'),
    },
    ratios: {
      'CPU per frame at 100 calls, bare / callstream μ-law echo': fmt(frameRatio(100), 2),
      'CPU per frame at 200 calls, bare / callstream μ-law echo': fmt(frameRatio(200), 2),
      [`CPU per frame at ${PCM_CALLS} calls, bare / callstream 16 kHz PCM echo`]: fmt(pcmRatio, 2),
      'calls held, callstream μ-law echo / bare': fmt(capacityRatio, 2),
      'setup CPU per call, callstream / bare': fmt(setupTimes, 2),
    },
    goals: {
      [`CPU per frame at 100 calls, bare / callstream ≥ ${GOAL.framesRatio} (median of rounds; ${roundsMeeting(frameRatio(100), (v) => v >= GOAL.framesRatio)})`]: median(frameRatio(100)) >= GOAL.framesRatio,
      [`CPU per frame at 200 calls, bare / callstream ≥ ${GOAL.framesRatio} (median; ${roundsMeeting(frameRatio(200), (v) => v >= GOAL.framesRatio)})`]: median(frameRatio(200)) >= GOAL.framesRatio,
      [`16 kHz PCM echo at ${PCM_CALLS} calls ≥ ${GOAL.pcmRatio} (median; ${roundsMeeting(pcmRatio, (v) => v >= GOAL.pcmRatio)})`]: median(pcmRatio) >= GOAL.pcmRatio,
      [`calls held ≥ 2/3 of bare's (median; ${roundsMeeting(capacityRatio, (v) => v >= GOAL.capacityRatio)})`]: median(capacityRatio) >= GOAL.capacityRatio,
      [`setup CPU per call ≤ ${GOAL.setupTimes} × bare's (median; ${roundsMeeting(setupTimes, (v) => v <= GOAL.setupTimes)})`]: median(setupTimes) <= GOAL.setupTimes,
      'added latency p99 < 1 ms (both directions; 1 call, 100 calls, 80 % of the median held)': [one, hundred, topTimed].every((t) => p(t, 'inbound', 99) < 1000 && p(t, 'outbound', 99) < 1000),
    },
    notes: [
      `load: 1-minute load average when each round began ${rounds.map((r) => r.loadAverage.toFixed(2)).join(', ')}; cores used by the rest of the machine (other processes, steal) over each step's media: ${fmt(others, 2)}`,
      `ladder: ${LADDER.join(', ')} calls, ${SECONDS} s of media per step, until a step has < 99 % echoed or any frame > 40 ms late, then one step halfway back (to 25 calls); coarser than a 50-call ladder, so "calls held" is a lower bound within a step. Bare and μ-law echo run 50, 100 and 200 calls in every round whatever fails, for the CPU figures; the PCM echo runs ${PCM_CALLS} calls only`,
      'CPU per frame counts the server\'s media phase only (all calls connected and started, until the last echo); connecting and starting calls is the setup figure (at 100 calls), hanging up is in neither',
      'the load generator is one process on the same 2 cores as the server: "cores at the first failing step" says what the server, the generator and everything else used there; the generator\'s CPU limits the top of the ladder for both servers',
      'CPU is measured on servers without the latency stamps; latencies come from a separate, instrumented server (one run)',
      'callstream echo keeps Twilio\'s pacing (absolute clock, a lead at the far end, a mark every 200 ms); the bare echo answers each message at once and sends no marks',
      'goals are judged on the median of the rounds\' ratios, each ratio taken within one round',
    ],
    data: { rounds, latencySteps: [...timed.values()].map(withoutSamples) },
  };
}
