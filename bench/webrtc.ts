/**
 * WebRTC capacity: N werift peers (Opus, then PCMU) against callstream's echo, beside a raw werift
 * echo (RTP sent straight back, no decode) in the same run; server CPU per peer and the codec's own
 * cost per frame.
 */
import { OpusCodec } from '../src/audio/opus.js';
import { cpuBetween, measureLoad, type ServerStats, spawnProc, startServer } from './children.js';
import type { BenchResult } from './report.js';

const PEERS = 20;
const SECONDS = 6;

async function run(script: string, args: string[], codec: 'opus' | 'pcmu'): Promise<{ cpuPerPeer: number; delivered: number }> {
  const server = await startServer(script, args, { BENCH_CODEC: codec });
  try {
    const peers = spawnProc('peers.ts', [server.url, String(PEERS), String(SECONDS), codec]);
    const { result, before, after, wallS: wall } = await measureLoad<{ sent: number; received: number }, ServerStats>(peers, () => server.stats(), false);
    const cpu = cpuBetween(before, after) / 1e6;
    return { cpuPerPeer: cpu / wall / PEERS, delivered: result.received / Math.max(1, result.sent) };
  } finally {
    server.stop();
  }
}

function opusCostUs(): number {
  const codec = new OpusCodec();
  const frame = Int16Array.from({ length: 960 }, (_, i) => Math.round(6000 * Math.sin(i / 7)));
  for (let i = 0; i < 200; i++) codec.decode(codec.encode(frame));
  const started = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) codec.decode(codec.encode(frame));
  return Number(process.hrtime.bigint() - started) / 1000 / 2000;
}

export async function webrtcScenario(): Promise<BenchResult> {
  const opus = await run('server.ts', ['callstream', 'echo'], 'opus');
  const pcmu = await run('server.ts', ['callstream', 'echo'], 'pcmu');
  const raw = await run('raw-webrtc.ts', [], 'opus');
  const codecUs = opusCostUs();
  return {
    title: `WebRTC capacity: ${PEERS} werift peers at 50 packets/s each, echo handler (server CPU only)`,
    figures: {
      'server CPU per peer, Opus (share of a core)': opus.cpuPerPeer,
      'server CPU per peer, PCMU (share of a core)': pcmu.cpuPerPeer,
      'peers per core, Opus': 1 / opus.cpuPerPeer,
      'peers per core, PCMU': 1 / pcmu.cpuPerPeer,
      'packets echoed, Opus / PCMU (%)': `${(opus.delivered * 100).toFixed(1)} / ${(pcmu.delivered * 100).toFixed(1)}`,
      'Opus encode + decode per 20 ms frame (µs)': codecUs,
    },
    baseline: {
      'raw werift echo (no decode) CPU per peer': raw.cpuPerPeer,
      'raw werift echo peers per core': 1 / raw.cpuPerPeer,
      'raw packets echoed (%)': raw.delivered * 100,
    },
    ratios: {
      'CPU per peer, raw / callstream Opus': raw.cpuPerPeer / opus.cpuPerPeer,
      'CPU per peer, raw / callstream PCMU': raw.cpuPerPeer / pcmu.cpuPerPeer,
    },
    notes: ['werift (SRTP, ICE, RTCP) dominates: it is the floor both servers share; callstream adds the codec, the session and pacing'],
  };
}
