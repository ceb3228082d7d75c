/**
 * The session's own per-frame work, without sockets: a μ-law frame in, through the handler (echo),
 * paced out to a link that only counts, on a manual clock. `npx tsx bench/session-path.ts [frames]`.
 * Prints µs per frame for several rounds: for comparing changes to the hot path, not a goal.
 */
import { EchoHandler } from '../handlers/echo.js';
import { mulawFrame } from '../src/audio/frame.js';
import { ManualClock } from '../src/clock.js';
import { silentLogger } from '../src/logger.js';
import { Session, type TransportLink } from '../src/session/session.js';

const frames = Number(process.argv[2] ?? 200_000);
let sent = 0;
const link: TransportLink = {
  kind: 'telephone',
  format: { encoding: 'mulaw', sampleRate: 8000 },
  hasClient: false,
  sendAudio: () => void sent++,
  sendMark: () => {},
  sendAudioWithMark: () => void sent++,
  clear: () => {},
  sendMessage: () => {},
  close: () => {},
};
const clock = new ManualClock(0);
const session = new Session({
  link,
  handler: new EchoHandler(),
  facts: { customParameters: {} },
  mode: 'send-receive',
  clock,
  logger: silentLogger(),
  leadMs: 160,
  markEveryMs: 200,
  maxQueuedMs: 300_000,
  inboundBacklog: 50,
  aheadMs: 1000,
});
session.start();
await new Promise((resolve) => setTimeout(resolve, 10));
const payload = Buffer.alloc(160, 0x55);
for (let round = 1; round <= 5; round++) {
  const started = performance.now();
  for (let i = 0; i < frames; i++) {
    session.receiveAudio(mulawFrame(Buffer.from(payload)));
    if (i % 5 === 4) for (let m = 0; m < 5; m++) session.acknowledgeMark(`0:${m}`);
    clock.advance(20);
  }
  const us = ((performance.now() - started) * 1000) / frames;
  process.stdout.write(`round ${round}: ${us.toFixed(2)} µs per frame (${sent} sent)\n`);
}
session.end('hangup');
