/**
 * Pacing drift: outbound audio over a 10-minute session run accelerated on an injected clock whose
 * timers fire late (jitter and stalls), and a real-time 60 s phone call; each beside a relative
 * `setTimeout(20)` pacer (the usual cause of choppy calls) measured the same way.
 */
import Koa from 'koa';
import WebSocket from 'ws';
import type { AudioFrame } from '../src/audio/frame.js';
import { ManualClock } from '../src/clock.js';
import { JitteryClock } from '../test/support/jittery-clock.js';
import { silentLogger } from '../src/logger.js';
import { listen } from '../src/server.js';
import { Playback } from '../src/session/playback.js';
import type { StreamHandler } from '../src/session/handler.js';
import { Stream } from '../src/stream.js';
import { postWebhook, sid, TwilioMediaStream } from '../test/support/twilio-call.js';
import type { BenchResult } from './report.js';


const MINUTES = 10;

/** callstream's Playback on the jittery clock: 10 minutes queued 1 s at a time; drift of the last send. */
function acceleratedPlayback(): { driftMs: number; maxAheadMs: number; minAheadMs: number } {
  const manual = new ManualClock(0);
  const clock = new JitteryClock(manual);
  const sends: { at: number; ms: number }[] = [];
  const sink = { sendAudio: (frame: AudioFrame) => sends.push({ at: manual.now(), ms: (frame.encoding === 'mulaw' ? frame.bytes.length : 0) / 8 }), clear: () => {} };
  const playback = new Playback(sink, { format: { encoding: 'mulaw', sampleRate: 8000 }, clock, leadMs: 160, maxQueuedMs: 1e9 });
  const total = MINUTES * 60_000;
  for (let t = 0; t < total; t += 1000) {
    playback.enqueue({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(8000) });
    manual.advance(1000);
  }
  manual.advance(5000);
  let sent = 0;
  let maxAhead = -Infinity;
  let minAhead = Infinity;
  for (const [i, s] of sends.entries()) {
    sent += s.ms;
    const ahead = sent - s.at; // audio sent minus real time elapsed: the lead at the far end
    maxAhead = Math.max(maxAhead, ahead);
    if (i > 0) minAhead = Math.min(minAhead, ahead - s.ms);
  }
  const last = sends[sends.length - 1]!;
  // The last frame should leave exactly one lead before the audio's end.
  return { driftMs: last.at + 160 - total, maxAheadMs: maxAhead, minAheadMs: minAhead };
}

/** The baseline: send 20 ms, then setTimeout(20) relative to when the timer fired, on the same clock. */
function acceleratedRelative(): { driftMs: number } {
  const manual = new ManualClock(0);
  const clock = new JitteryClock(manual);
  const frames = (MINUTES * 60_000) / 20;
  let sent = 0;
  let lastAt = 0;
  const step = () => {
    sent++;
    lastAt = manual.now();
    if (sent < frames) clock.after(20, step);
  };
  step();
  manual.advance(MINUTES * 60_000 * 1.2);
  return { driftMs: lastAt + 20 - MINUTES * 60_000 };
}

/** 60 s of audio over a real phone-protocol call: when the last frame arrives vs when it should. */
async function realTimeCall(seconds: number): Promise<{ callstreamDriftMs: number; relativeDriftMs: number }> {
  const handler: StreamHandler = {
    inputFormat: 'native',
    startUp(ctx) {
      ctx.send({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(8000 * seconds).fill(0x55) });
    },
  };
  const stream = new Stream(handler, { logger: silentLogger(), publicUrl: 'https://bench.example.test', twilioAuthToken: 'bench' });
  const app = new Koa();
  stream.mount(app);
  const server = await listen(app, '127.0.0.1', 0);
  // The baseline server: a relative setTimeout(20) loop on its own socket.
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) => {
    let sent = 0;
    const payload = Buffer.alloc(160, 0x55).toString('base64');
    const step = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(`{"event":"media","media":{"payload":"${payload}"}}`);
      if (++sent < seconds * 50) setTimeout(step, 20);
    };
    step();
  });
  try {
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: 'https://bench.example.test', authToken: 'bench', params: { CallSid: callSid } });
    const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: 'bench' }, callSid);
    const relative = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    let relativeFirst = 0;
    let relativeLast = 0;
    let relativeFrames = 0;
    relative.on('message', () => {
      const now = performance.now();
      if (relativeFrames++ === 0) relativeFirst = now;
      relativeLast = now;
    });
    const started = performance.now();
    await call.begin(hook.parameters);
    await call.waitFor(() => call.receivedAudio().length >= 8000 * seconds, (seconds + 10) * 1000, 'all the audio');
    const first = call.media[0]!.at;
    const last = call.media[call.media.length - 1]!;
    // Twilio plays the last frame from (last arrival + the lead): the stream should end at first + seconds.
    const endOfAudio = last.at + last.bytes.length / 8 + 160;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + seconds * 1000 + 1500 - performance.now())));
    call.close();
    relative.close();
    return { callstreamDriftMs: endOfAudio - first - seconds * 1000, relativeDriftMs: relativeLast + 20 - relativeFirst - seconds * 1000 };
  } finally {
    await stream.shutdown();
    await server.close();
    wss.close();
  }
}

export async function pacingScenario(): Promise<BenchResult> {
  const accelerated = acceleratedPlayback();
  const relative = acceleratedRelative();
  const real = await realTimeCall(Number(process.env.PACING_SECONDS ?? 60));
  return {
    title: `pacing drift: ${MINUTES} min accelerated on a jittery injected clock, and 60 s real time over a phone call`,
    figures: {
      [`callstream drift after ${MINUTES} min, accelerated (ms)`]: accelerated.driftMs,
      'largest lead queued at the far end (ms; the bound is 160)': accelerated.maxAheadMs,
      'callstream drift after 60 s real time (ms)': real.callstreamDriftMs,
    },
    baseline: {
      [`relative setTimeout(20) drift after ${MINUTES} min, accelerated (ms)`]: relative.driftMs,
      'relative setTimeout(20) drift after 60 s real time (ms)': real.relativeDriftMs,
    },
    goals: {
      'zero cumulative drift accelerated (|drift| ≤ one late timer, 30 ms)': Math.abs(accelerated.driftMs) <= 30,
      'real-time drift within one frame plus jitter (≤ 40 ms)': Math.abs(real.callstreamDriftMs) <= 40,
    },
    notes: [
      'the jittery clock fires every timer 0-4 ms late and 1 % of them 30 ms late; callstream paces against absolute deadlines, so lateness never accumulates',
      'real-time drift is measured at the client from the first to the last frame received (plus its duration and the 160 ms lead Twilio would hold)',
    ],
  };
}
