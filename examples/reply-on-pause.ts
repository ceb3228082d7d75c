/**
 * ReplyOnPause with your own reply: the user talks, pauses, and your function gets what they said.
 *
 * Here the reply is a beep as long as the speech it heard: a stand-in for the real thing (send the
 * utterance to speech-to-text, a language model, text-to-speech, and yield the audio). A reply is an
 * async generator: yield audio frames in any format and rate, callstream converts and paces them.
 *
 * Talking over a reply stops it (barge-in): `turn.signal` aborts, pass it on to your fetch() calls.
 *
 * Run it:  npx tsx examples/reply-on-pause.ts   then open http://localhost:8000/, say something, pause.
 */
import Koa from 'koa';
import { listen, pcmFrame, Stream } from 'callstream';
import { ReplyOnPause } from 'callstream/handlers';

const RATE = 16000; // the rate we make the beep at (any rate works)
const BEEP_HZ = 440;

const handler = new ReplyOnPause(
  async function* beepBack(utterance, turn) {
    // utterance.samples: 16 kHz PCM of the turn; utterance.speechMs: how much of it was speech.
    const ms = Math.round(utterance.speechMs);
    turn.log.info({ ms }, 'heard speech: beeping it back');
    const samples = new Int16Array(Math.round((ms / 1000) * RATE));
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * BEEP_HZ * i) / RATE));
    yield pcmFrame(samples, RATE); // one long frame is fine: the session cuts it into 20 ms pieces
  },
  {
    vad: { minSilenceDurationMs: 600 }, // the pause that ends a turn (the default, spelled out)
  },
);

const app = new Koa();
new Stream(handler).mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
