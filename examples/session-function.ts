/**
 * A handler written as a session function: called once per session with its context, it reads the
 * caller's audio as an async iterable (`ctx.audio()`) and sends with `ctx.send()`. The loop ends when
 * the session does.
 *
 * The effect: a one-second delay line. You hear yourself a second later, as from across a canyon.
 *
 * Run it:  npx tsx examples/session-function.ts   then open http://localhost:8000/ and speak.
 */
import Koa from 'koa';
import { type AudioFrame, frameDurationMs, listen, type SessionContext, Stream } from 'callstream';

const DELAY_MS = 1000;

async function delayLine(ctx: SessionContext): Promise<void> {
  ctx.log.info('a caller is here'); // the session's own logger: its lines carry the session id
  const held: AudioFrame[] = [];
  let heldMs = 0;
  for await (const frame of ctx.audio()) {
    held.push(frame);
    heldMs += frameDurationMs(frame);
    // Once more than a second of audio is held, each new frame in lets the oldest one out.
    while (heldMs > DELAY_MS) {
      const oldest = held.shift()!;
      heldMs -= frameDurationMs(oldest);
      ctx.send(oldest);
    }
  }
}
// 'native': frames exactly as the transport carries them (a phone call's μ-law bytes, untouched).
// The delay line does not look inside the audio, so no conversion is needed either way.
delayLine.inputFormat = 'native' as const;

const app = new Koa();
new Stream(delayLine).mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
