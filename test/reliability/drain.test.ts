import { expect } from 'chai';
import { runCli } from '../support/cli.js';
import { AUTH_TOKEN, PUBLIC_URL, sleep } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('faults: SIGTERM drain');
const DRAIN_MS = 2000;

async function call(url: string): Promise<TwilioMediaStream> {
  const callSid = sid('CA');
  const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
  const stream = new TwilioMediaStream({ baseUrl: url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
  await stream.begin(hook.parameters);
  stream.sendMedia(Buffer.alloc(160, 0x21));
  await stream.waitFor(() => stream.media.length > 0, 3000, 'echo');
  return stream;
}

/** What a new caller gets during the drain: refused one way or another, never served. */
async function newCallRefused(url: string): Promise<string> {
  try {
    const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    if (hook.rejected) return 'rejected (<Reject>)';
    return hook.streamUrl ? 'SERVED' : `HTTP ${hook.status}`;
  } catch (error) {
    return `connection refused (${(error as NodeJS.ErrnoException).code})`;
  }
}

describe('reliability: SIGTERM with live calls (callstream serve)', function () {
  this.timeout(30000);
  reportAfter('faults: SIGTERM drain', counts);

  it('stops accepting, lets a call finish, cuts the other after the grace period, exits 0', async () => {
    const cli = runCli(['serve', '--handler', 'echo', '--host', '127.0.0.1', '--port', '0'], {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      DRAIN_MS: String(DRAIN_MS),
    });
    try {
      const url = (JSON.parse(await cli.waitForLine(/demo server listening/)) as { url: string }).url;
      const finishing = await call(url);
      const lingering = await call(url);
      const program = new AudioSocket(url);
      await program.start('drain-ws', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } });

      const signalled = performance.now();
      cli.child.kill('SIGTERM');
      count(counts, 'faults injected');
      await cli.waitForLine(/stopping: no new sessions/);

      // New calls are refused during the drain.
      const refusal = await newCallRefused(url);
      expect(refusal).to.not.equal('SERVED');
      expect(refusal).to.match(/refused|rejected|HTTP 503/);

      // Live calls keep their audio during the drain.
      const before = finishing.media.length;
      for (let i = 0; i < 10; i++) finishing.sendMedia(Buffer.alloc(160, 0x22));
      await finishing.waitFor(() => finishing.media.length >= before + 10, 2000, 'echo during the drain');
      await sleep(300); // kept: a quiet call stays open a while into the drain (nothing to wait for)
      expect(lingering.isOpen).to.equal(true);

      // One call ends by itself; the others are cut at the grace period with 1001 (going away).
      finishing.sendStop();
      expect((await finishing.closed).code).to.equal(1000);
      const cut = await lingering.closed;
      const cutAfter = performance.now() - signalled;
      expect(cut.code).to.equal(1001);
      expect((await program.closed).code).to.equal(1001);
      expect(cutAfter, 'cut at the grace period').to.be.within(DRAIN_MS - 100, DRAIN_MS + 2000);

      const exit = await cli.exited;
      expect(exit.code).to.equal(0);
      const stops = cli.lines.filter((l) => l.includes('session stopped')).map((l) => (JSON.parse(l) as { reason: string }).reason);
      expect(stops.sort()).to.deep.equal(['remote_stop', 'server_shutdown', 'server_shutdown']);
      count(counts, 'sessions survived', 1);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    }
  });
});
