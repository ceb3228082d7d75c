/**
 * An outbound call: the server dials a phone and the handler (an echo) has the call once answered.
 *
 * The answered call asks for its TwiML at the Stream's signed webhook like an incoming call, and
 * Twilio reports its progress to the Stream's status route: both must be reachable at PUBLIC_URL.
 *
 * Environment:
 *   TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   your Twilio account (or TWILIO_API_KEY + TWILIO_API_SECRET)
 *   PUBLIC_URL                              the https origin that reaches this server (a tunnel, say)
 *   TO, FROM                                the number to call, and your Twilio number
 *
 * Run it:  TO=+15551234567 FROM=+15557654321 npx tsx examples/outbound-call.ts   (Ctrl-C hangs up)
 */
import Koa from 'koa';
import { listen, Stream } from 'callstream';
import { EchoHandler } from 'callstream/handlers';

const { TO, FROM } = process.env;
if (!TO || !FROM) {
  console.error('Set TO (the number to call) and FROM (your Twilio number), e.g. TO=+15551234567 FROM=+15557654321.');
  process.exit(2);
}

// publicUrl comes from PUBLIC_URL and the REST credentials from TWILIO_*: nothing to pass here.
const stream = new Stream(new EchoHandler());
const app = new Koa();
stream.mount(app);
const server = await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on

const call = await stream.call({ to: TO, from: FROM, timeout: 30 });
console.log(`Calling ${TO} from ${FROM}: ${call.sid}`);
call.on('status', (event) => console.log(`  status ${event.status}${event.answeredBy ? ` (answered by ${event.answeredBy})` : ''}`));

// Ctrl-C hangs up over Twilio's REST API (a second Ctrl-C quits at once).
process.once('SIGINT', () => {
  console.log('Hanging up...');
  call.hangUp().catch((error: Error) => console.error(`Could not hang up: ${error.message}`));
});

const end = await call.ended; // never rejects: busy, no-answer, failed... are in end.error
console.log(`Call ${call.sid} ended: ${end.status}${end.error ? `: ${end.error.message}` : ''}`);
if (end.error) process.exitCode = 1; // it never reached the handler
await stream.shutdown();
await server.close();
