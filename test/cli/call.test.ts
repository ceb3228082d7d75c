import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { callCommand } from '../../src/cli/call-command.js';
import { exitCodeFor, UsageError } from '../../src/cli/exit.js';
import { type CliProcess, runCli } from '../support/cli.js';
import type { FakeCall } from '../support/fake-calls.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { rejection } from '../support/rejection.js';
import { PUBLIC_URL } from '../support/server.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';

const TO = '+15550002222';
const FROM = '+15550001111';

describe('callstream call (the CLI, against a fake Twilio API that plays the callee)', function () {
  this.timeout(30000);
  let api: FakeTwilioApi;
  let cwd: string;
  const running: CliProcess[] = [];

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    api.addNumber(FROM);
    cwd = await mkdtemp(path.join(os.tmpdir(), 'callstream-call-'));
  });

  afterEach(async () => {
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exited;
    }
    await api.close();
    await rm(cwd, { recursive: true, force: true });
  });

  /** Starts `callstream call` with --public-url; once it listens, the fake Twilio knows where that URL goes. Resolves with the call's SID and Twilio's side of it. */
  async function call(args: string[]): Promise<{ cli: CliProcess; sid: string; callee: FakeCall }> {
    const cli = runCli(['call', '--to', TO, '--public-url', PUBLIC_URL, '--port', '0', '--handler', 'echo', ...args], { LOG_LEVEL: 'warn', ...api.env() }, { cwd });
    running.push(cli);
    const local = /local server\s+(\S+)/.exec(await cli.waitForLine(/local server/))![1]!;
    api.calls.reach(PUBLIC_URL, { baseUrl: local });
    const sid = /^Calling \+15550002222 from \+15550001111: (CA[0-9a-f]{32})$/.exec(await cli.waitForLine(/^Calling /))![1]!;
    const callee = await api.calls.next();
    expect(callee.sid).to.equal(sid);
    return { cli, sid, callee };
  }

  async function hearEcho(media: TwilioMediaStream): Promise<void> {
    const frames = Array.from({ length: 10 }, (_, i) => Buffer.alloc(160, 0x40 + i));
    for (const frame of frames) media.sendMedia(frame);
    await media.waitFor(() => media.receivedAudio().length >= 1600, 5000, 'the echo');
    expect(media.receivedAudio().subarray(0, 1600).equals(Buffer.concat(frames))).to.equal(true);
  }

  const stderrOf = (cli: CliProcess) => cli.stderr.join('');

  it('places the call, the answer hears the echo, and SIGTERM hangs it up over REST (exit 0)', async () => {
    const { cli, sid, callee } = await call(['--from', FROM, '--machine-detection', 'enable', '--timeout', '25']);
    expect(callee.form).to.deep.include({ To: TO, From: FROM, Url: `${PUBLIC_URL}/telephone/incoming`, MachineDetection: 'Enable', Timeout: '25' });
    const media = await callee.answer();
    await cli.waitForLine(/^ {2}connected: the handler has the call/);
    await hearEcho(media);

    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code, stderrOf(cli)).to.equal(0);
    expect(callee.updates.map((u) => [u.path, u.form])).to.deep.equal([[`/2010-04-01/Accounts/${api.accountSid}/Calls/${sid}.json`, { Status: 'completed' }]]);
    expect(callee.updates[0]!.user).to.equal(api.accountSid);
    expect(cli.lines).to.include.members([
      '  status initiated',
      '  status ringing',
      '  status in-progress (answered by human)',
      `SIGTERM: hanging up ${sid}...`,
      `Hung up ${sid} (completed).`,
    ]);
    expect((await media.closed).code, 'the stream ends (Twilio stops it, or the server closes it going away)').to.be.oneOf([1000, 1001]);
  });

  it('exits 0 when the callee hangs up, calling from the account\'s only number by default', async () => {
    const { cli, sid, callee } = await call([]);
    expect(callee.form.From).to.equal(FROM);
    await hearEcho(await callee.answer());
    await callee.hangUp();
    const exit = await cli.exited;
    expect(exit.code, stderrOf(cli)).to.equal(0);
    expect(cli.lines.at(-1)).to.match(new RegExp(`^Call ${sid} ended: completed after \\d+ s\\.$`));
    expect(callee.updates).to.have.length(0);
  });

  it('exits 4 for a busy call with one line and a hint', async () => {
    const { cli, sid, callee } = await call(['--from', FROM]);
    await callee.busy();
    const exit = await cli.exited;
    expect(exit.code).to.equal(4);
    expect(stderrOf(cli)).to.equal(`callstream: The call to ${TO} was busy (${sid}).\nhint: try again later.\n`);
    expect(cli.lines).to.include.members(['  status initiated', '  status ringing', '  status busy (0 s)']);
  });

  it('answers usage errors with exit 2 and a hint, and --help with the options and exit codes', async () => {
    for (const args of [[], ['--to', '555'], ['--to', TO, '--timeout', '0'], ['--to', TO, '--machine-detection', 'maybe'], ['--to', TO, '--public-url', PUBLIC_URL, '--subdomain', 'abcd'], ['--to', TO, '--frobnicate']]) {
      const error = await rejection(callCommand(args), UsageError);
      expect(exitCodeFor(error), args.join(' ')).to.equal(2);
      expect(error.hint, args.join(' ')).to.be.a('string');
    }
    const help = runCli(['call', '--help'], {}, { cwd });
    running.push(help);
    expect((await help.exited).code).to.equal(0);
    const text = help.lines.join('\n');
    for (const word of ['--to', '--from', '--public-url', '--machine-detection', 'TWILIO_API_BASE_URL', '.env', '4  the call was busy', '5  the call was not answered']) expect(text).to.contain(word);
    expect(api.requests).to.have.length(0);
  });
});
