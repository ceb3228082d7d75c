/**
 * Setup-latency client in its own process: phone calls played as Twilio plays them. Each call is a
 * signed webhook (`POST /telephone/incoming`) to one port, then its media stream, to another port in
 * cluster mode (another instance), carrying the TwiML's token; one media frame goes right after
 * `start`. Timed per call: webhook → TwiML, and upgrade + start → the first echoed frame (split into
 * the upgrade and start → echo). The process lives across runs, so its own JIT is warm for each.
 *   env BENCH_AUTH_TOKEN (signs), BENCH_PUBLIC_URL (the origin Twilio would sign and call)
 * Parent → { type: 'run', webhookPort, streamPort, calls, concurrency }: answered with
 * { type: 'result', ... }; the calls stay open until { type: 'close' }, answered with { type: 'closed' }.
 */
import { postWebhook, sid, TwilioMediaStream } from '../../test/support/twilio-call.js';

interface Run {
  type: 'run';
  webhookPort: number;
  streamPort: number;
  calls: number;
  concurrency: number;
}

export interface SetupResult {
  type: 'result';
  /** Per call that went through (ms): webhook → TwiML. */
  webhookMs: number[];
  /** Upgrade + start → the first echoed frame (ms): upgradeMs + echoMs. */
  streamMs: number[];
  upgradeMs: number[];
  echoMs: number[];
  /** What went wrong with the calls that did not go through. */
  failures: string[];
}

const authToken = process.env.BENCH_AUTH_TOKEN!;
const publicUrl = process.env.BENCH_PUBLIC_URL!;
const ACCOUNT_SID = sid('AC');
const FRAME = new Uint8Array(160).fill(0x55);
const ECHO_TIMEOUT_MS = 5000;
let open: TwilioMediaStream[] = [];

/** The form Twilio posts to a voice webhook (what is signed, and what the webhook reads). */
function webhookParams(callSid: string): Record<string, string> {
  return {
    AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01', CallSid: callSid, CallStatus: 'ringing', Called: '+15550100000',
    CalledCountry: 'US', Caller: '+15550199999', CallerCountry: 'US', Direction: 'inbound', From: '+15550199999',
    FromCountry: 'US', To: '+15550100000', ToCountry: 'US',
  };
}

async function oneCall(run: Run, result: SetupResult): Promise<void> {
  const callSid = sid('CA');
  const t0 = performance.now();
  const hook = await postWebhook({ baseUrl: `http://127.0.0.1:${run.webhookPort}`, publicUrl, authToken, params: webhookParams(callSid) });
  const t1 = performance.now();
  if (!hook.streamUrl) throw new Error(`webhook answered ${hook.status} without a stream: ${hook.body.slice(0, 120)}`);
  const call = new TwilioMediaStream({ baseUrl: `http://127.0.0.1:${run.streamPort}`, streamUrl: hook.streamUrl, authToken }, callSid);
  open.push(call);
  await call.opened;
  const t2 = performance.now();
  call.sendConnected();
  call.sendStart(hook.parameters, ACCOUNT_SID);
  call.sendMedia(FRAME);
  await Promise.race([
    call.waitFor(() => call.media.length > 0, ECHO_TIMEOUT_MS, 'the first echoed frame'),
    call.closed.then(({ code, reason }) => Promise.reject(new Error(`stream closed (${code} ${reason})`))),
  ]);
  const t3 = performance.now();
  result.webhookMs.push(t1 - t0);
  result.upgradeMs.push(t2 - t1);
  result.echoMs.push(t3 - t2);
  result.streamMs.push(t3 - t1);
}

async function runCalls(run: Run): Promise<SetupResult> {
  const result: SetupResult = { type: 'result', webhookMs: [], streamMs: [], upgradeMs: [], echoMs: [], failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < run.calls) {
      next++;
      await oneCall(run, result).catch((error: unknown) => {
        if (result.failures.length < 5) result.failures.push(error instanceof Error ? error.message : String(error));
        else result.failures.push('');
      });
    }
  };
  await Promise.all(Array.from({ length: run.concurrency }, worker));
  return result;
}

async function hangUpAll(): Promise<void> {
  const calls = open;
  open = [];
  await Promise.all(calls.map(async (call) => {
    if (call.isOpen) call.sendStop();
    call.close();
    await call.closed;
  }));
}

if (!authToken || !publicUrl) throw new Error('setup-calls: BENCH_AUTH_TOKEN and BENCH_PUBLIC_URL are needed');
process.on('message', (message: { type: string }) => {
  if (message.type === 'run') void runCalls(message as Run).then((result) => process.send!(result));
  else if (message.type === 'close') void hangUpAll().then(() => process.send!({ type: 'closed' }));
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
