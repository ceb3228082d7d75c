/**
 * A Stream mounted on a Koa app you already have.
 *
 * The app keeps its own routes (here `/` and `/health`); the Stream adds its routes under `/voice`:
 *   GET  /voice/                      the built-in page: talk to the handler from a browser (WebRTC)
 *   POST /voice/telephone/incoming    the voice webhook of your Twilio number
 *   WS   /voice/websocket/offer       FastRTC's WebSocket protocol, for programs
 *
 * Run it:  npx tsx examples/mount-on-koa.ts   then open http://localhost:8000/voice/
 * For phone calls, set PUBLIC_URL (the https origin Twilio reaches you at) and TWILIO_AUTH_TOKEN (so
 * Twilio's signatures are checked), and point the number's webhook at $PUBLIC_URL/voice/telephone/incoming.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { type AudioFrame, listen, type SessionContext, Stream } from 'callstream';

// The app as it was before callstream: its own router and routes.
const app = new Koa();
const router = new Router();
router.get('/', (ctx) => {
  ctx.body = 'My shop. Talk to us at /voice/';
});
router.get('/health', (ctx) => {
  ctx.body = { ok: true };
});
app.use(router.routes());

// The voice part: an echo. The handler hears 16 kHz PCM (whatever the caller's transport carries,
// callstream converts it) and sends each frame straight back (converted again for the caller).
const stream = new Stream(
  {
    inputFormat: { encoding: 'pcm16', sampleRate: 16000 },
    receive(frame: AudioFrame, ctx: SessionContext) {
      ctx.send(frame);
    },
  },
  { concurrencyLimit: 10, timeLimit: 600 }, // at most 10 sessions at once, each at most 10 minutes
);
stream.mount(app, '/voice');

// listen() rather than app.listen(): it keeps Node's request timeouts away from live calls.
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
