/**
 * Rooms: server CPU per participant-frame of the mix against the same phone calls as plain echo
 * sessions, in the same run (10 rooms × 3 and 1 room × 10, rooms mixing at 8 and 16 kHz); latency
 * caller to caller through a room (tone onsets), on one instance and across two instances on Redis
 * (with what Redis carries meanwhile), beside an echo's round trip; and the mix clock's drift over
 * 10 minutes on a jittery injected clock beside a relative setTimeout(20) pacer. Three runs of each,
 * shown as min / median / max.
 */
import type { AudioFrame } from '../src/audio/frame.js';
import { mulawDecode } from '../src/audio/mulaw.js';
import { ManualClock } from '../src/clock.js';
import { JitteryClock } from '../test/support/jittery-clock.js';
import { silentLogger } from '../src/logger.js';
import { MixedOutput } from '../src/rooms/mixed-output.js';
import { Room } from '../src/rooms/room.js';
import { mulawToneFrame, toneLevels } from '../test/support/tones.js';
import { TwilioMediaStream } from '../test/support/twilio-call.js';
import { sendPaced, sleep } from '../test/support/wait.js';
import { BenchRedis, type RedisSample } from './bench-redis.js';
import { type BenchServer, cpuBetween, measureLoad, type ServerStats, spawnProc, startServer, type LoadResult } from './children.js';
import { type BenchResult, percentile, spread } from './report.js';

const RUNS = 3;
const SECONDS = 4;
const SHAPES = [
  { rooms: 10, size: 3 },
  { rooms: 1, size: 10 },
] as const;
const ENV = { TWILIO_AUTH_TOKEN: '', TWILIO_ACCOUNT_SID: '', PUBLIC_URL: '', BENCH_REDIS: '' };

type Kind = 'echo' | 'room 8 kHz' | 'room 16 kHz';
const KINDS: Kind[] = ['echo', 'room 8 kHz', 'room 16 kHz'];


/** One trial: `calls` phone calls (in rooms of `roomSize`, or plain echo sessions) for SECONDS; server CPU per frame received. */
async function trial(server: BenchServer, calls: number, roomSize: number): Promise<{ cpuUsPerFrame: number; delivered: number; late: number }> {
  const load = spawnProc('load.ts', [String(server.port), String(calls), String(SECONDS), 'phased', String(roomSize)]);
  const { result, before, after } = await measureLoad<LoadResult, ServerStats>(load, () => server.stats(), true);
  return { cpuUsPerFrame: cpuBetween(before, after) / Math.max(1, result.received), delivered: result.received / Math.max(1, result.sent), late: result.late };
}

async function cpu(): Promise<{ figures: Record<string, string>; ratios: Record<string, string>; notes: string[]; data: unknown }> {
  const servers: Record<Kind, BenchServer> = {
    echo: await startServer('server.ts', ['callstream', 'echo'], ENV),
    'room 8 kHz': await startServer('server.ts', ['callstream', 'conference'], { ...ENV, BENCH_ROOM_RATE: '8000' }),
    'room 16 kHz': await startServer('server.ts', ['callstream', 'conference'], { ...ENV, BENCH_ROOM_RATE: '16000' }),
  };
  const results = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  const notes: string[] = [];
  try {
    for (const kind of KINDS) await trial(servers[kind], 30, kind === 'echo' ? 0 : 3); // warm up (JIT)
    for (let run = 0; run < RUNS; run++) {
      for (const shape of SHAPES) {
        const calls = shape.rooms * shape.size;
        const perKind = {} as Record<Kind, number>;
        for (const kind of KINDS) {
          const t = await trial(servers[kind], calls, kind === 'echo' ? 0 : shape.size);
          perKind[kind] = t.cpuUsPerFrame;
          const key = `${kind}, ${shape.rooms} × ${shape.size}`;
          results.set(key, [...(results.get(key) ?? []), t.cpuUsPerFrame]);
          process.stdout.write(`  run ${run + 1} ${key.padEnd(24)} ${t.cpuUsPerFrame.toFixed(1)} µs server CPU per participant-frame, ${(t.delivered * 100).toFixed(1)} % of frames back, ${t.late} late\n`);
          if (t.delivered < 0.97) notes.push(`run ${run + 1} ${key}: only ${(t.delivered * 100).toFixed(1)} % of the frames came back`);
        }
        for (const kind of KINDS.slice(1)) {
          const key = `${kind} / echo, ${shape.rooms} × ${shape.size}`;
          ratios.set(key, [...(ratios.get(key) ?? []), perKind[kind] / perKind.echo]);
        }
      }
    }
  } finally {
    for (const server of Object.values(servers)) server.stop();
  }
  const figures: Record<string, string> = {};
  for (const [key, values] of results) figures[`server CPU per participant-frame, ${key} (µs)`] = spread(values);
  const ratioFigures: Record<string, string> = {};
  for (const [key, values] of ratios) ratioFigures[`CPU per participant-frame, ${key}`] = spread(values, 2);
  return { figures, ratios: ratioFigures, notes, data: Object.fromEntries(results) };
}

const SILENCE = new Uint8Array(160).fill(0xff);
const BURST_HZ = 1200;

/** A call to a bench server, started with `parameters` (no webhook: the servers check no signatures). */
async function call(server: BenchServer, parameters: Record<string, string>): Promise<TwilioMediaStream> {
  const stream = new TwilioMediaStream({ baseUrl: server.url, streamUrl: 'wss://bench.example.test/telephone/handler' });
  await stream.begin(parameters);
  return stream;
}

/**
 * Tone-burst onsets from `from`, noted where they reach `to` (the same call for an echo): delays in
 * ms, one per burst found.
 */
async function onsets(from: TwilioMediaStream, to: TwilioMediaStream, bursts: number): Promise<number[]> {
  const sentAt: number[] = [];
  const first = to.media.length;
  await sendPaced(bursts * 15, (i) => {
    const inBurst = i % 15 < 5;
    if (inBurst && i % 15 === 0) sentAt.push(performance.now());
    from.sendMedia(inBurst ? mulawToneFrame(BURST_HZ, i) : SILENCE);
  });
  await sleep(300);
  const delays: number[] = [];
  let loud = false;
  for (const media of to.media.slice(first)) {
    const now = toneLevels(mulawDecode(media.bytes), 8000, [BURST_HZ])[BURST_HZ]! > 1500;
    if (now && !loud && delays.length < sentAt.length) delays.push(media.at - sentAt[delays.length]!);
    loud = now;
  }
  return delays;
}

/** Onset delays of one run, and what Redis carried meanwhile (cluster). */
interface LatencyRun {
  p50: number;
  p99: number;
  redis?: { commands: number; perSecond: number };
}

async function measureOnsets(a: TwilioMediaStream, b: TwilioMediaStream, bursts: number): Promise<number[]> {
  return [...(await onsets(a, b, bursts)), ...(await onsets(b, a, bursts))];
}

/** Rooms a run opens, one pair of callers each: each room's tick starts at its first join, so the phase between callers and tick varies. */
const PAIRS = 5;
const BURSTS = 6;

async function latency(): Promise<{ figures: Record<string, string>; baseline: Record<string, string>; ratios: Record<string, string>; data: unknown; goal: boolean }> {
  const redis = await BenchRedis.start();
  const prefix = `bench-rooms-${process.pid}:`;
  const single = await startServer('server.ts', ['callstream', 'conference'], { ...ENV, BENCH_ROOM_RATE: '8000' });
  const echo = await startServer('server.ts', ['callstream', 'echo'], ENV);
  const clusterEnv = { ...ENV, BENCH_ROOM_RATE: '8000', BENCH_REDIS: redis.url, BENCH_PREFIX: prefix };
  const one = await startServer('server.ts', ['callstream', 'conference'], { ...clusterEnv, BENCH_INSTANCE_ID: 'bench-one' });
  const two = await startServer('server.ts', ['callstream', 'conference'], { ...clusterEnv, BENCH_INSTANCE_ID: 'bench-two' });
  const runs: Record<'echo' | 'room' | 'cluster room', LatencyRun[]> = { echo: [], room: [], 'cluster room': [] };
  const pause = () => sleep(Math.random() * 40);
  try {
    for (let run = 0; run < RUNS; run++) {
      const e = await call(echo, {});
      await sleep(200);
      const echoed = await onsets(e, e, 30);
      runs.echo.push({ p50: percentile(echoed, 50), p99: percentile(echoed, 99) });
      e.close();

      const local: number[] = [];
      const across: number[] = [];
      let redisCommands = 0;
      let redisSeconds = 0;
      for (let pair = 0; pair < PAIRS; pair++) {
        const name = `lat-${run}-${pair}`;
        const a = await call(single, { room: name });
        await pause();
        const b = await call(single, { room: name });
        await sleep(300);
        local.push(...(await measureOnsets(a, b, BURSTS)));
        a.close();
        b.close();

        const c = await call(one, { room: `cluster-${name}` });
        await sleep(300);
        const d = await call(two, { room: `cluster-${name}` });
        await sleep(500);
        const before: RedisSample = await redis.sample();
        const started = performance.now();
        across.push(...(await measureOnsets(c, d, BURSTS)));
        redisSeconds += (performance.now() - started) / 1000;
        redisCommands += BenchRedis.between(before, await redis.sample()).commands;
        c.close();
        d.close();
        await pause();
      }
      runs.room.push({ p50: percentile(local, 50), p99: percentile(local, 99) });
      runs['cluster room'].push({ p50: percentile(across, 50), p99: percentile(across, 99), redis: { commands: redisCommands, perSecond: redisCommands / redisSeconds } });
      for (const kind of ['echo', 'room', 'cluster room'] as const) {
        const last = runs[kind].at(-1)!;
        process.stdout.write(`  run ${run + 1} latency ${kind.padEnd(13)} p50 ${last.p50.toFixed(1)} ms, p99 ${last.p99.toFixed(1)} ms${last.redis ? `, Redis ${last.redis.perSecond.toFixed(0)} commands/s` : ''}\n`);
      }
    }
  } finally {
    for (const server of [single, echo, one, two]) server.stop();
    await redis.stop();
  }
  const p = (kind: keyof typeof runs, which: 'p50' | 'p99') => spread(runs[kind].map((r) => r[which]));
  const added = (which: 'p50' | 'p99') => runs['cluster room'].map((r, i) => r[which] - runs.room[i]![which]);
  const addedByRoom = (which: 'p50' | 'p99') => runs.room.map((r, i) => r[which] - runs.echo[i]![which]);
  return {
    figures: {
      'caller to caller through a room, one instance, p50 (ms)': p('room', 'p50'),
      'caller to caller through a room, one instance, p99 (ms)': p('room', 'p99'),
      'caller to caller through a room, callers on two instances (Redis), p50 (ms)': p('cluster room', 'p50'),
      'caller to caller through a room, callers on two instances (Redis), p99 (ms)': p('cluster room', 'p99'),
      'Redis commands per second while callers on two instances talk in one room': spread(runs['cluster room'].map((r) => r.redis?.perSecond ?? NaN), 0),
    },
    baseline: {
      'caller to itself through an echo session, p50 (ms)': p('echo', 'p50'),
      'caller to itself through an echo session, p99 (ms)': p('echo', 'p99'),
    },
    ratios: {
      'added by the room over an echo, p50 (ms)': spread(addedByRoom('p50')),
      'added by the room over an echo, p99 (ms)': spread(addedByRoom('p99')),
      'added by crossing instances, p50 (ms)': spread(added('p50')),
      'added by crossing instances, p99 (ms)': spread(added('p99')),
    },
    data: runs,
    goal: added('p50').every((ms) => ms <= 20),
  };
}


const MINUTES = 10;

/**
 * Ten minutes of a three-participant room on the jittery clock: each participant's far end counts
 * the frames it got (through a real MixedOutput); drift is frames × 20 ms against the clock, and the
 * spread between participants. The baseline: a relative setTimeout(20) pacer on the same clock.
 */
function drift(seed: number): { roomDriftMs: number; betweenParticipantsMs: number; relativeDriftMs: number } {
  const manual = new ManualClock(0);
  const clock = new JitteryClock(manual, seed);
  const room = new Room({ name: 'drift', sampleRate: 8000, maxParticipants: 10, clock, logger: silentLogger(), instanceId: 'bench' });
  const counts = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const transport = { sendAudio: (frame: AudioFrame) => void (counts[k]! += frame.encoding === 'mulaw' ? frame.bytes.length / 160 : 0), clear: () => {} };
    const output = new MixedOutput(transport, { encoding: 'mulaw', sampleRate: 8000 }, 8000, clock, 0);
    room.add({ id: `p${k}`, transport: 'telephone', label: `p${k}`, joinedAt: 0, speaking: false }, { wantsMix: false, deliver: (mix) => output.deliver(mix), tell: () => {} });
  }
  const total = MINUTES * 60_000;
  for (let t = 0; t < total; t += 1000) manual.advance(1000);
  const elapsed = manual.now() - room.clockState().startedAt;
  const frames = counts.map((c) => c * 20 - elapsed);
  room.close('closed');
  // The baseline: send, then setTimeout(20) from when the timer fired.
  const baseManual = new ManualClock(0);
  const baseClock = new JitteryClock(baseManual, seed);
  let sent = 0;
  const step = () => {
    sent++;
    baseClock.after(20, step);
  };
  step();
  baseManual.advance(total);
  return {
    roomDriftMs: frames.reduce((worst, d) => (Math.abs(d) > Math.abs(worst) ? d : worst), 0),
    betweenParticipantsMs: (Math.max(...counts) - Math.min(...counts)) * 20,
    relativeDriftMs: sent * 20 - total,
  };
}

export async function roomsScenario(): Promise<BenchResult> {
  const drifts = [7, 11, 13].map((seed) => drift(seed));
  process.stdout.write(`  drift after ${MINUTES} min: ${drifts.map((d) => `${d.roomDriftMs.toFixed(1)} ms`).join(', ')} (relative pacer: ${drifts.map((d) => `${d.relativeDriftMs.toFixed(0)} ms`).join(', ')})\n`);
  const load = await cpu();
  const timing = await latency();
  return {
    title: `rooms: CPU per participant-frame against echo sessions (${SECONDS} s per trial), caller-to-caller latency, mix-clock drift; ${RUNS} runs each, min / median / max`,
    figures: {
      ...load.figures,
      ...timing.figures,
      [`mix clock drift after ${MINUTES} min, jittery injected clock, worst participant (ms)`]: spread(drifts.map((d) => d.roomDriftMs)),
      [`frames apart between participants after ${MINUTES} min (ms)`]: spread(drifts.map((d) => d.betweenParticipantsMs)),
    },
    baseline: {
      ...timing.baseline,
      [`relative setTimeout(20) pacer drift after ${MINUTES} min, same clock (ms)`]: spread(drifts.map((d) => d.relativeDriftMs), 0),
    },
    ratios: { ...load.ratios, ...timing.ratios },
    goals: {
      'at most 20 ms added by crossing instances (p50, every run)': timing.goal,
      'no drift: the mix clock within one late timer (40 ms) of the clock after 10 minutes, every run': drifts.every((d) => Math.abs(d.roomDriftMs) <= 40),
      'participants of one room never apart by a frame after 10 minutes': drifts.every((d) => d.betweenParticipantsMs === 0),
    },
    notes: [
      'CPU: the same load generator (phone calls, 50 frames/s each, constant μ-law) against three server processes in turn: echo (no transcoding), the conference demo mixing at 8 kHz and at 16 kHz; per participant-frame = server CPU over the media phase / frames the callers received over it (a room sends every tick, also in the 0.4 s after the callers stop: about 112 % of the frames sent; both sides of the division count that tail)',
      'the echo\'s cost per frame grows as calls get fewer (1 × 10 against 10 × 3): its frames come one socket message and one pacing timer at a time, while a room sends all its participants\' frames from one tick',
      'a room sends every participant a frame every tick (the mix of the others, limited, encoded for its transport): it is the echo\'s work plus decoding, the jitter buffer, the DTMF and speaking detectors, mixing and (at 16 kHz) resampling both ways',
      `latency: 5-frame tone bursts every 300 ms, the arrival of each onset at the other caller (or back at the same caller, for the echo) against its send; per run ${PAIRS} rooms of two callers, ${BURSTS} bursts each way, joined at random moments, so the phase between a caller's frames and the room's 20 ms tick (0-20 ms of the latency) varies as it does between real callers; includes the bench process's own timer jitter, alike for all`,
      'cluster: two server processes on one redis-server, one caller on each; the room is mixed by the first, the second forwards its caller\'s frames over Redis pub/sub (one PUBLISH per 20 ms frame each way per remote caller, plus a heartbeat a second)',
      ...load.notes,
    ],
    data: { cpu: load.data, latency: timing.data, drift: drifts },
  };
}
