import { expect } from 'chai';
import { runCli } from '../support/cli.js';
import { AUTH_TOKEN, PUBLIC_URL } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';

describe('callstream serve (the demo server)', function () {
  this.timeout(30000);

  it('serves a phone call end to end, then drains it on SIGTERM and exits 0', async () => {
    const cli = runCli(['serve', '--handler', 'echo', '--host', '127.0.0.1', '--port', '0'], { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL, DRAIN_MS: '200' });
    const line = await cli.waitForLine(/demo server listening/);
    const url = (JSON.parse(line) as { url: string }).url;

    const page = await fetch(`${url}/`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.match(/<title>[^<]+<\/title>/); // the demo's own title (uiArgs)

    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100' } });
    const call = new TwilioMediaStream({ baseUrl: url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(hook.parameters);
    for (let i = 0; i < 10; i++) call.sendMedia(Buffer.alloc(160, i + 1));
    await call.waitFor(() => call.receivedAudio().length >= 1600, 3000, 'echo');

    cli.child.kill('SIGTERM');
    const closed = await call.closed;
    expect(closed.code).to.equal(1001);
    const exit = await cli.exited;
    expect(exit.code).to.equal(0);
    const stopLine = cli.lines.find((l) => l.includes('session stopped'));
    expect(stopLine, 'one log line per session stop').to.be.a('string');
    const stop = JSON.parse(stopLine!) as { reason: string; facts: { from: string }; durationMs: number; transport: string };
    expect(stop.reason).to.equal('server_shutdown');
    expect(stop.transport).to.equal('telephone');
    expect(stop.facts.from).to.equal('+15550100');
    expect(cli.lines.join('\n')).to.not.contain(AUTH_TOKEN);
  });

  it('prints help, and refuses an unknown command with exit code 2', async () => {
    const help = runCli(['serve', '--help']);
    expect((await help.exited).code).to.equal(0);
    expect(help.lines.join('\n')).to.contain('Usage:');
    const bad = runCli(['nonsense']);
    expect((await bad.exited).code).to.equal(2);
    expect(bad.stderr.join('')).to.match(/unknown command.*\n.*hint/);
  });
});
