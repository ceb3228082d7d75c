/**
 * Rooms: a phone caller handed to a person in a browser.
 *
 * Callers and agents meet in the room "support". A caller hears hold music until an agent joins;
 * then the two hear each other (each never itself), and the caller is hung up when the agent leaves.
 * An agent is any session that is not a phone call: the built-in page, or a WebSocket program.
 *
 * Run it:  npx tsx examples/rooms-handoff.ts   then open http://localhost:8000/ and press start (the agent)
 * For phone calls (the callers), set PUBLIC_URL and TWILIO_AUTH_TOKEN and point your Twilio number's
 * webhook at $PUBLIC_URL/telephone/incoming.
 */
import Koa from 'koa';
import { listen, type SessionContext, Stream } from 'callstream';
import { holdSound } from 'callstream/handlers';

const stream = new Stream(async (ctx: SessionContext) => {
  const room = await ctx.join('support', { label: ctx.transport === 'telephone' ? ctx.facts.from : 'Agent' });
  if (ctx.transport !== 'telephone') return; // an agent: the room does the rest
  const hold = new AbortController();
  void ctx.play(holdSound(), { signal: hold.signal }); // the caller's own audio: only it hears it
  room.on('join', () => {
    hold.abort(); // an agent came: the music stops
    ctx.interrupt();
  });
  room.on('leave', () => void ctx.hangUp()); // the agent hung up: so does the call
});

const app = new Koa();
stream.mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
