/**
 * Opus encoder settings for speech, measured for cost and quality: a speech fixture (espeak-ng, sox,
 * 48 kHz mono) coded in 20 ms frames through @evan/opus with each candidate setting. Cost is the
 * encoder's and the decoder's CPU per frame (min / median / max of PASSES passes, settings taken in
 * turn); quality is the mel-cepstral and log-spectral distance of the decoded speech from the
 * original (bench/opus-quality.ts), without loss and at 5 % random loss through a receiver that, like
 * a browser's, recovers a lost frame from the next packet's in-band FEC where it has one. The cheapest
 * setting by encoder CPU whose quality stays within TOLERANCE of libopus's defaults as callstream had
 * them (the reference) is named; src/audio/opus.ts holds the default callstream uses.
 */
import { OPUS_SPEECH_SETTINGS, OpusCodec, type OpusSettings } from '../src/audio/opus.js';
import { speechFixture } from './opus-fixture.js';
import { quality, type Quality } from './opus-quality.js';
import { FecDecoder } from './opus-receiver.js';
import { type BenchResult, spread } from './report.js';

const FRAME = 960;
const PASSES = 5;
const LOSS = 0.05;
/**
 * Quality kept: no distance (MCD and LSD, without loss and at 5 % loss) more than this share above
 * the reference's, i.e. the decoded speech at most a tenth further from the original than before.
 */
const TOLERANCE = 0.1;
/** Encoder CPU differences under this share are run-to-run noise on this machine, not a saving. */
const COST_NOISE = 0.1;

export interface Candidate extends OpusSettings {
  label: string;
}

/** What callstream used before this bench: libopus's defaults (complexity 9), voip, FEC for 5 % loss. */
const REFERENCE: Candidate = { label: 'voip, complexity 9, FEC (5 %), DTX off, auto bitrate (the reference)', application: 'voip', complexity: 9, inbandFec: true, packetLoss: 5, dtx: false };

function candidates(): Candidate[] {
  const out: Candidate[] = [REFERENCE];
  const add = (settings: OpusSettings) => {
    const parts = [settings.application, `complexity ${settings.complexity}`, settings.inbandFec ? `FEC (${settings.packetLoss} %)` : 'no FEC', settings.dtx ? 'DTX' : 'DTX off', settings.bitrate ? `${settings.bitrate / 1000} kbit/s` : 'auto bitrate'];
    out.push({ label: parts.join(', '), ...settings });
  };
  const voip = { application: 'voip', inbandFec: true, packetLoss: 5, dtx: false } as const;
  for (const complexity of [10, 8, 7, 6, 5, 3, 1, 0]) add({ ...voip, complexity });
  for (const complexity of [9, 6, 0]) add({ ...voip, complexity, inbandFec: false, packetLoss: 0 });
  // 'audio' codes speech as CELT (no FEC possible) at low complexity; restricted_lowdelay always does.
  for (const complexity of [9, 6, 0]) add({ ...voip, application: 'audio', complexity });
  for (const complexity of [9, 6, 0]) add({ ...voip, application: 'restricted_lowdelay', complexity, inbandFec: false, packetLoss: 0 });
  for (const complexity of [9, 6, 0]) add({ ...voip, complexity, dtx: true });
  for (const bitrate of [32000, 24000]) for (const complexity of [9, 6]) add({ ...voip, complexity, bitrate });
  return out;
}

interface Pass {
  encodeUs: number;
  decodeUs: number;
  packets: Uint8Array[];
}

/** One pass over the fixture with a fresh codec (callstream's, with `settings`): µs per frame, and the packets. */
function pass(settings: OpusSettings, frames: Int16Array[]): Pass {
  const codec = new OpusCodec(48000, settings);
  const packets: Uint8Array[] = [];
  let started = process.hrtime.bigint();
  for (const frame of frames) packets.push(codec.encode(frame));
  const encodeNs = Number(process.hrtime.bigint() - started);
  started = process.hrtime.bigint();
  for (const packet of packets) codec.decode(packet);
  const decodeNs = Number(process.hrtime.bigint() - started);
  return { encodeUs: encodeNs / 1000 / frames.length, decodeUs: decodeNs / 1000 / frames.length, packets };
}

/** The same losses for every setting: independent, seeded. */
function lossPattern(count: number, rate: number, seed = 7): boolean[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32 < rate;
  });
}

/** What a receiver plays: every packet decoded, lost ones recovered from the next one's FEC (`fec`) or concealed. */
function received(packets: Uint8Array[], lost: boolean[], fec = true): Int16Array {
  const decoder = new FecDecoder(FRAME);
  const out = new Int16Array(packets.length * FRAME);
  packets.forEach((packet, i) => {
    const next = packets[i + 1];
    const pcm = !lost[i] ? decoder.decode(packet) : fec && next && !lost[i + 1] ? decoder.recover(next) : decoder.conceal();
    out.set(pcm.subarray(0, FRAME), i * FRAME);
  });
  decoder.close();
  return out;
}

export interface OpusRow {
  label: string;
  settings: OpusSettings;
  encodeUs: number[];
  codecUs: number[];
  kbps: number;
  /** The coded mode and bandwidth most packets had (from their TOC byte), and their share. */
  coded: string;
  clean: Quality;
  lossy: Quality;
  /** Lossy quality when the receiver only conceals (no FEC decoding), for what FEC adds. */
  concealed: Quality;
}

/** The most common mode and audio bandwidth among the packets (RFC 6716 §3.1), DTX packets apart. */
function codedAs(packets: Uint8Array[]): string {
  const counts = new Map<string, number>();
  const coded = packets.filter((p) => p.length > 2);
  for (const p of coded) {
    const config = p[0]! >> 3;
    const name = config < 12 ? `SILK ${['NB', 'MB', 'WB'][config >> 2]}` : config < 16 ? `hybrid ${config < 14 ? 'SWB' : 'FB'}` : `CELT ${['NB', 'WB', 'SWB', 'FB'][(config - 16) >> 2]}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const [name, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['none', 0];
  const dtx = packets.length - coded.length;
  return `${name} ${((count / Math.max(1, coded.length)) * 100).toFixed(0)} %${dtx > 0 ? `, ${((dtx / packets.length) * 100).toFixed(0)} % DTX` : ''}`;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const sameSettings = (a: OpusSettings, b: OpusSettings) =>
  a.application === b.application && a.complexity === b.complexity && a.inbandFec === b.inbandFec && a.packetLoss === b.packetLoss && a.dtx === b.dtx && (a.bitrate ?? 0) === (b.bitrate ?? 0);

/** Every candidate measured (or those given). */
export function measureOpus(list: Candidate[] = candidates()): { rows: OpusRow[]; fixtureS: number } {
  const fixture = speechFixture();
  const frames = Array.from({ length: fixture.length / FRAME }, (_, i) => fixture.subarray(i * FRAME, (i + 1) * FRAME));
  for (const c of list) pass(c, frames.slice(0, 100)); // warm up (JIT, caches)
  const passes = list.map(() => [] as Pass[]);
  for (let p = 0; p < PASSES; p++) list.forEach((c, i) => passes[i]!.push(pass(c, frames)));
  const lost = lossPattern(frames.length, LOSS);
  const rows = list.map((c, i): OpusRow => {
    const packets = passes[i]![0]!.packets;
    const clean = quality(fixture, received(packets, frames.map(() => false)));
    const withDelay = { delay: clean.delay };
    return {
      label: c.label,
      settings: { application: c.application, complexity: c.complexity, inbandFec: c.inbandFec, packetLoss: c.packetLoss, dtx: c.dtx, ...(c.bitrate ? { bitrate: c.bitrate } : {}) },
      encodeUs: passes[i]!.map((x) => x.encodeUs),
      codecUs: passes[i]!.map((x) => x.encodeUs + x.decodeUs),
      coded: codedAs(packets),
      kbps: (packets.reduce((n, x) => n + x.length, 0) * 8) / (frames.length * 0.02) / 1000,
      clean,
      lossy: quality(fixture, received(packets, lost), withDelay),
      concealed: quality(fixture, received(packets, lost, false), withDelay),
    };
  });
  return { rows, fixtureS: fixture.length / 48000 };
}

/** Whether a row's four distances are all within the tolerance of the reference's. */
export function keepsQuality(row: OpusRow, reference: OpusRow, tolerance = TOLERANCE): boolean {
  const within = (a: number, b: number) => a <= b * (1 + tolerance);
  return within(row.clean.mcdDb, reference.clean.mcdDb) && within(row.clean.lsdDb, reference.clean.lsdDb) && within(row.lossy.mcdDb, reference.lossy.mcdDb) && within(row.lossy.lsdDb, reference.lossy.lsdDb);
}

/** The cheapest row by median encoder CPU that keeps quality; the reference unless one saves more than the noise. */
export function cheapestKeepingQuality(rows: OpusRow[], reference: OpusRow, tolerance = TOLERANCE): OpusRow {
  const [cheapest] = rows.filter((r) => keepsQuality(r, reference, tolerance)).sort((a, b) => median(a.encodeUs) - median(b.encodeUs));
  return cheapest && median(cheapest.encodeUs) < median(reference.encodeUs) * (1 - COST_NOISE) ? cheapest : reference;
}

export async function opusScenario(): Promise<BenchResult> {
  const { rows, fixtureS } = measureOpus();
  const reference = rows[0]!;
  const chosen = cheapestKeepingQuality(rows, reference);
  const current = rows.find((r) => sameSettings(r.settings, OPUS_SPEECH_SETTINGS));
  const line = (r: OpusRow) =>
    `encode ${spread(r.encodeUs)} µs, encode + decode ${spread(r.codecUs)} µs; ${r.kbps.toFixed(1)} kbit/s, ${r.coded}; MCD / LSD ${r.clean.mcdDb.toFixed(2)} / ${r.clean.lsdDb.toFixed(2)} dB, seg. SNR ${r.clean.segSnrDb.toFixed(1)} dB; at 5 % loss ${r.lossy.mcdDb.toFixed(2)} / ${r.lossy.lsdDb.toFixed(2)} dB (concealment alone ${r.concealed.mcdDb.toFixed(2)} / ${r.concealed.lsdDb.toFixed(2)})${keepsQuality(r, reference) ? '; keeps quality' : ''}`;
  const figures: Record<string, string> = {};
  for (const r of rows.slice(1)) figures[r.label] = line(r);
  return {
    title: `Opus encoder settings on ${fixtureS.toFixed(1)} s of speech (48 kHz mono, 20 ms frames): CPU per frame (min / median / max of ${PASSES} passes) beside quality`,
    figures,
    baseline: { [reference.label]: line(reference) },
    ratios: {
      'encoder CPU, reference / callstream default (median)': current ? median(reference.encodeUs) / median(current.encodeUs) : NaN,
      'MCD without loss, callstream default − reference (dB)': current ? current.clean.mcdDb - reference.clean.mcdDb : NaN,
      'MCD at 5 % loss, callstream default − reference (dB)': current ? current.lossy.mcdDb - reference.lossy.mcdDb : NaN,
    },
    goals: {
      [`callstream's default (${current?.label ?? 'not among the candidates'}) keeps quality and costs within ${COST_NOISE * 100} % of the cheapest setting that does (this run's cheapest: ${chosen.label})`]:
        current !== undefined && keepsQuality(current, reference) && median(current.encodeUs) <= median(chosen.encodeUs) * (1 + COST_NOISE),
    },
    notes: [
      'cost: callstream\'s OpusCodec (the native @evan/opus build), a fresh one per pass, the passes of all settings in turn; the server encodes what it sends (the peer\'s settings decide what it decodes), so the choice is made on encoder CPU',
      'quality: mel-cepstral distance (c1..c24 of 40 mel bands, 60 Hz-10 kHz: the fixture\'s speech is 60 dB down by 10 kHz; bands and bins floored 50 dB below the frame\'s loudest) and log-spectral distance over speech frames (within 35 dB of the loudest), after aligning by cross-correlation; lower is better; seg. SNR only for reference (a perceptual codec does not keep the waveform)',
      `loss: ${LOSS * 100} % of packets, independent and seeded (the same for every setting); the receiver is libopus itself (the package's wasm build) recovering a lost frame from the next packet's in-band FEC where present, as browsers do; "concealment alone" is the same losses with packet-loss concealment only (what callstream's own decoder does)`,
      `keeps quality: MCD and LSD, clean and at 5 % loss, each at most ${TOLERANCE * 100} % above the reference's; the cheapest such setting by median encoder CPU is named, unless it saves less than ${COST_NOISE * 100} % (noise)`,
    ],
    data: { rows, chosen: chosen.label, current: current?.label },
  };
}
