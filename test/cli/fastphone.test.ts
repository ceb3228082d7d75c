import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { exitCodeFor, UsageError } from '../../src/cli/exit.js';
import { fastphoneCommand } from '../../src/cli/fastphone-command.js';
import { type CliProcess, runCli } from '../support/cli.js';
import { FakeTwilioApi, type NumberRecord } from '../support/fake-twilio.js';
import { FakeLocaltunnelServer } from '../support/localtunnel-server.js';
import { rejection } from '../support/rejection.js';
import { sid } from '../support/twilio-call.js';
import { expectEchoThroughTunnel } from '../support/tunnel-call.js';

const OLD_VOICE_URL = 'https://old.example.com/voice';
const STATE = path.join('.callstream', 'fastphone-state.json');

describe('callstream fastphone (the CLI, against a fake Twilio API and a local tunnel server)', function () {
  this.timeout(60000);
  let api: FakeTwilioApi;
  let lt: FakeLocaltunnelServer;
  let cwd: string;
  let record: NumberRecord;
  const running: CliProcess[] = [];

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    lt = await FakeLocaltunnelServer.start();
    cwd = await mkdtemp(path.join(os.tmpdir(), 'callstream-cli-'));
    record = api.addNumber('+15550001111', { voice_url: OLD_VOICE_URL, voice_method: 'GET' });
    api.addNumber('+15550002222');
  });

  afterEach(async () => {
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exited;
    }
    await lt.close();
    await api.close();
    await rm(cwd, { recursive: true, force: true });
  });

  function fastphone(args: string[], env: Record<string, string> = api.env()): CliProcess {
    const cli = runCli(['fastphone', ...args], { LOG_LEVEL: 'warn', ...env }, { cwd });
    running.push(cli);
    return cli;
  }

  const stderrOf = (cli: CliProcess) => cli.stderr.join('');

  /** Waits for the ready lines; returns the public URL the number now points at. */
  async function ready(cli: CliProcess): Promise<string> {
    await cli.waitForLine(/^Call \+15550001111 to talk to the handler\.$/, 20000);
    const line = await cli.waitForLine(/voice webhook/);
    const webhook = /voice webhook\s+(\S+) \(POST\)/.exec(line)![1]!;
    expect(record.voice_url).to.equal(webhook);
    return webhook.replace(/\/telephone\/incoming$/, '');
  }

  it('prints the number, serves a phone call through the tunnel, and restores the number on SIGTERM (settings from .env, the environment winning)', async () => {
    await writeFile(
      path.join(cwd, '.env'),
      `TWILIO_ACCOUNT_SID=${api.accountSid}\nTWILIO_AUTH_TOKEN=wrong-token-from-dotenv\nTWILIO_API_BASE_URL=${api.url}\n`,
    );
    const cli = fastphone(['--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0', '--handler', 'echo'], { TWILIO_AUTH_TOKEN: api.authToken });
    const publicUrl = await ready(cli);
    expect(publicUrl).to.match(/^http:\/\/[a-z0-9]+\.lt\.test:\d+$/);
    expect(existsSync(path.join(cwd, STATE)), 'the state file exists while running').to.equal(true);
    await expectEchoThroughTunnel(lt, publicUrl, api.authToken);

    cli.child.kill('SIGTERM');
    const exit = await cli.exited;
    expect(exit.code, stderrOf(cli)).to.equal(0);
    expect(cli.lines).to.include('SIGTERM: restoring +15550001111 and stopping...');
    expect(cli.lines).to.include(`Restored +15550001111: voice URL ${OLD_VOICE_URL} again.`);
    const restore = api.requestsTo('POST', record.sid).at(-1)!;
    expect(restore.form).to.deep.equal({ VoiceUrl: OLD_VOICE_URL, VoiceMethod: 'GET', StatusCallback: '', StatusCallbackMethod: 'POST' });
    expect(restore.user).to.equal(api.accountSid);
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
    expect(existsSync(path.join(cwd, STATE))).to.equal(false);
    expect(existsSync(path.join(cwd, '.callstream'))).to.equal(false);
  });

  it('restores with --restore after a crash (kill -9 leaves the state file behind)', async () => {
    const cli = fastphone(['--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0']);
    await ready(cli);
    cli.child.kill('SIGKILL');
    await cli.exited;
    expect(existsSync(path.join(cwd, STATE))).to.equal(true);
    expect(record.voice_url).to.not.equal(OLD_VOICE_URL);

    const restore = fastphone(['--restore']);
    const exit = await restore.exited;
    expect(exit.code, stderrOf(restore)).to.equal(0);
    expect(restore.lines).to.deep.equal([`Restored +15550001111: voice URL ${OLD_VOICE_URL} again.`]);
    expect(api.requestsTo('POST', record.sid).at(-1)!.form).to.deep.equal({ VoiceUrl: OLD_VOICE_URL, VoiceMethod: 'GET', StatusCallback: '', StatusCallbackMethod: 'POST' });
    expect(existsSync(path.join(cwd, STATE))).to.equal(false);

    const again = fastphone(['--restore']);
    expect((await again.exited).code).to.equal(0);
    expect(again.lines).to.deep.equal([`Nothing to restore: no state file at ${STATE}.`]);
  });

  it('refuses an API key without the auth token (exit 3, one line and a hint), and runs with --insecure, loudly', async () => {
    const env = { TWILIO_ACCOUNT_SID: api.accountSid, TWILIO_API_KEY: api.apiKey, TWILIO_API_SECRET: api.apiSecret, TWILIO_API_BASE_URL: api.url };
    const refused = fastphone(['--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0'], env);
    expect((await refused.exited).code).to.equal(3);
    expect(stderrOf(refused)).to.equal(
      'callstream: Webhook signatures need the account\'s auth token, and only an API key was given.\n' +
        'hint: set TWILIO_AUTH_TOKEN too (REST keeps using the API key), or pass --insecure to accept unsigned webhooks (not for real use).\n',
    );
    expect(api.requests).to.have.length(0);

    const insecure = fastphone(['--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0', '--insecure', '--handler', 'echo'], env);
    const publicUrl = await ready(insecure);
    await insecure.waitForLine(/^WARNING: --insecure: signatures are NOT checked/);
    await expectEchoThroughTunnel(lt, publicUrl, undefined);
    insecure.child.kill('SIGINT');
    expect((await insecure.exited).code).to.equal(0);
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
    expect(api.requests.every((r) => r.user === api.apiKey)).to.equal(true);
  });

  it('shows Twilio\'s refusal clearly: a 401 exits 3 with one line and a hint', async () => {
    const cli = fastphone(['--tunnel-host', lt.url, '--port', '0'], { ...api.env(), TWILIO_AUTH_TOKEN: 'wrong' });
    expect((await cli.exited).code).to.equal(3);
    const lines = stderrOf(cli).trimEnd().split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.equal('callstream: Twilio refused to list the account\'s phone numbers: Authenticate (HTTP 401, error 20003).');
    expect(lines[1]).to.match(/^hint: check TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN/);
  });

  it('refuses a number bound to a TwiML App (exit 3), and asks which number when there are several', async () => {
    record.voice_application_sid = 'AP0123456789abcdef0123456789abcdef';
    const app = fastphone(['--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0']);
    expect((await app.exited).code).to.equal(3);
    expect(stderrOf(app)).to.match(/^callstream: \+15550001111 is answered by the TwiML App AP0123456789abcdef0123456789abcdef.*\nhint: .*Webhook/);
    const which = fastphone(['--tunnel-host', lt.url, '--port', '0']);
    expect((await which.exited).code).to.equal(3);
    expect(stderrOf(which)).to.contain('This account has 2 phone numbers: +15550001111, +15550002222. Which one?');
    expect(api.requests.filter((r) => r.method === 'POST')).to.have.length(0);
    expect(lt.handshakes).to.have.length(0);
  });

  it('exits 1 with a clear error when the tunnel server is down, leaving the number untouched', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = performance.now();
    const cli = fastphone(['--number', '+15550001111', '--tunnel-host', `http://127.0.0.1:${port}`, '--tunnel-timeout', '1', '--port', '0']);
    expect((await cli.exited).code).to.equal(1);
    expect(performance.now() - started).to.be.below(10_000);
    expect(stderrOf(cli)).to.match(new RegExp(`^callstream: No tunnel from http://127\\.0\\.0\\.1:${port} within 1000 ms \\(last problem: .*ECONNREFUSED.*\\)\\.\\nhint: `));
    expect(api.requests.filter((r) => r.method === 'POST')).to.have.length(0);
    expect(existsSync(path.join(cwd, STATE))).to.equal(false);
  });

  it('uses --public-url instead of a tunnel, and --turn gives the page Twilio TURN relays', async () => {
    const cli = fastphone(['--number', '+15550001111', '--public-url', 'https://voice.example.test', '--port', '0', '--handler', 'echo-pcm16', '--turn']);
    expect(await ready(cli)).to.equal('https://voice.example.test');
    expect(lt.handshakes).to.have.length(0);
    const local = /local server\s+(\S+)/.exec(await cli.waitForLine(/local server/))![1]!;
    const configuration = (await (await fetch(`${local}/webrtc/configuration`)).json()) as { iceServers: { urls: string }[] };
    expect(configuration.iceServers.map((s) => s.urls)).to.deep.equal(api.iceServers.map((s) => s.urls));
    expect(api.requestsTo('POST', '/Tokens.json').length).to.be.at.least(1);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).to.equal(0);
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
  });

  it('answers usage errors with exit 2 and a hint, and --help with the options, environment and exit codes', async () => {
    for (const args of [['--port', '99999'], ['--public-url', 'https://x.example', '--subdomain', 'abcd'], ['--restore', '--number', '+15550001111'], ['--subdomain', 'No'], ['--handler', 'nope'], ['--tunnel-timeout', '-1'], ['--frobnicate'], ['stray']]) {
      const error = await rejection(fastphoneCommand(args), UsageError);
      expect(exitCodeFor(error), args.join(' ')).to.equal(2);
      expect(error.hint, args.join(' ')).to.be.a('string');
    }
    const usage = fastphone(['--port', '99999']);
    expect((await usage.exited).code).to.equal(2);
    expect(stderrOf(usage)).to.equal('callstream: invalid --port "99999".\nhint: use a number between 0 and 65535 (0 picks a free port).\n');
    const help = fastphone(['--help']);
    expect((await help.exited).code).to.equal(0);
    const text = help.lines.join('\n');
    for (const word of ['--tunnel-host', '--public-url', '--restore', '--insecure', 'TWILIO_API_BASE_URL', 'TWILIO_EDGE', '.env', 'Exit codes', '3  refused']) expect(text).to.contain(word);
    expect(api.requests).to.have.length(0);
  });
});
