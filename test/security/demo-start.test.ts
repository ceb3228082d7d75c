import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { accessTokenFrom, type DemoProtection, demoAccessWarnings, refuseUnprotectedDemo, whyPublic } from '../../src/cli/demo-access.js';
import { exitCodeFor, UsageError } from '../../src/cli/exit.js';
import { type CliProcess, runCli } from '../support/cli.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { FakeLocaltunnelServer } from '../support/localtunnel-server.js';
import { AUTH_TOKEN, PUBLIC_URL } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { tryUpgrade } from '../support/upgrade.js';

const counts = tally('demo start rule');
const ACCESS = 'demo-access-token-8e41c07b2a95';

/** Every variable the start rule reads, unset (an empty one counts as unset), so each test's own decide. */
const UNPROTECTED = {
  CALLSTREAM_HANDLER: '',
  CALLSTREAM_AUTH_TOKEN: '',
  CALLSTREAM_ROOM_PIN: '',
  TWILIO_AUTH_TOKEN: '',
  PUBLIC_URL: '',
  HOST: '',
  PORT: '',
  METRICS_TOKEN: '',
  WEB_CONCURRENCY: '',
  REDIS_URL: '',
  DRAIN_MS: '0',
  OPENAI_API_KEY: 'sk-test-never-used',
  OPENAI_REALTIME_URL: 'ws://127.0.0.1:9/unused',
};

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const logLines = (cli: CliProcess): LogLine[] => cli.lines.flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as LogLine] : []));

/** Every CLI a test started: whatever still runs after it is killed (a server that should have refused to start, say). */
const started: CliProcess[] = [];

afterEach(async () => {
  for (const cli of started.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  }
});

function track(cli: CliProcess): CliProcess {
  started.push(cli);
  return cli;
}

function startServe(handler: string, host: string, env: Record<string, string> = {}, extra: string[] = []): CliProcess {
  return runCli(['serve', '--handler', handler, '--host', host, '--port', '0', ...extra], { ...UNPROTECTED, ...env });
}

/** `callstream serve` for one test (killed after it). */
function serve(handler: string, host: string, env: Record<string, string> = {}, extra: string[] = []): CliProcess {
  return track(startServe(handler, host, env, extra));
}

/** Runs `cli` to its end; it must refuse to start: exit 3, one line naming what to set and a hint, nothing listening. */
async function refused(cli: CliProcess, names: RegExp): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([cli.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 25_000)))]);
  clearTimeout(timer);
  expect(exit, `it should have refused to start; stdout: ${cli.lines.join('\n').slice(0, 2000)}`).to.not.equal(undefined);
  const stderr = cli.stderr.join('');
  expect(exit!.code, stderr).to.equal(3);
  const [message, hint, ...rest] = stderr.trimEnd().split('\n');
  expect(message).to.match(/^callstream: the [a-z-]+ handler .*, and this server is public \(.*\): set /);
  expect(message).to.match(names);
  expect(hint).to.match(/^hint: e\.g\. CALLSTREAM_AUTH_TOKEN=\$\(openssl rand -hex 24\)/);
  expect(rest).to.deep.equal([]);
  expect(cli.lines.join('\n')).to.not.contain('listening');
  count(counts, 'refused to start');
  return message!;
}

async function listening(cli: CliProcess): Promise<{ url: string; line: LogLine }> {
  const line = JSON.parse(await cli.waitForLine(/demo server listening/)) as LogLine;
  return { url: line.url as string, line };
}

async function stop(cli: CliProcess): Promise<void> {
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGTERM');
  await cli.exited;
}

describe('security: the demo server refuses to serve the desk and openai-realtime unprotected in public', function () {
  this.timeout(60000);
  reportAfter('demo start rule', counts);

  it('refuses desk and openai-realtime on 0.0.0.0 without CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN (exit 3, one line saying what to set)', async () => {
    const message = await refused(serve('desk', '0.0.0.0'), /set CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN\.$/);
    expect(message).to.contain('it listens on 0.0.0.0');
    // The case: only the Twilio token.
    await refused(serve('openai-realtime', '0.0.0.0', { TWILIO_AUTH_TOKEN: AUTH_TOKEN }), /set CALLSTREAM_AUTH_TOKEN\.$/);
  });

  it('counts PUBLIC_URL as public even on 127.0.0.1, and refuses once, before forking workers', async () => {
    const workers = serve('desk', '127.0.0.1', { PUBLIC_URL, CALLSTREAM_AUTH_TOKEN: ACCESS }, ['--workers', '2']);
    const message = await refused(workers, /set TWILIO_AUTH_TOKEN\.$/);
    expect(message).to.contain(`PUBLIC_URL is ${PUBLIC_URL}`);
    expect(workers.lines.join('\n')).to.not.contain('starting workers');
  });

  it('starts them on 127.0.0.1 with a warning saying what to set before going public', async () => {
    for (const handler of ['desk', 'openai-realtime']) {
      const cli = serve(handler, '127.0.0.1');
      try {
        const { url } = await listening(cli);
        const warning = logLines(cli).find((line) => line.level === 40 && line.msg.startsWith(`the ${handler} handler`));
        expect(warning?.msg, 'a warning').to.contain('set CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN before making it public');
        expect((await fetch(`${url}/`)).status, 'open, as it is private').to.equal(200);
        count(counts, 'started privately');
      } finally {
        await stop(cli);
      }
    }
  });

  it('the echo demo keeps starting on 0.0.0.0 unprotected, warning that anyone can use it', async () => {
    const cli = serve('echo', '0.0.0.0');
    try {
      const { url } = await listening(cli);
      expect((await fetch(`${url}/`)).status).to.equal(200);
      const warnings = logLines(cli).filter((line) => line.level === 40).map((line) => line.msg);
      expect(warnings.some((w) => w.includes('has no access token') && w.includes('set CALLSTREAM_AUTH_TOKEN'))).to.equal(true);
      expect(warnings.some((w) => w.includes('signatures are NOT checked'))).to.equal(true);
    } finally {
      await stop(cli);
    }
  });
});

describe('security: the start rule, handler by handler (in process)', () => {
  const none = { accessToken: undefined, twilioAuthToken: undefined, roomPin: undefined };
  const refusal = (handler: string, because: string | undefined, protection: Partial<DemoProtection>) => {
    try {
      refuseUnprotectedDemo(handler, because, { ...none, ...protection });
      return undefined;
    } catch (error) {
      expect(error).to.deep.include({ code: 'CONFIG_ERROR' });
      return (error as Error).message;
    }
  };

  it('tells public hosts from private ones', () => {
    expect(whyPublic('0.0.0.0', undefined)).to.equal('it listens on 0.0.0.0');
    expect(whyPublic('::', undefined)).to.equal('it listens on ::');
    expect(whyPublic('192.168.1.5', undefined)).to.equal('it listens on 192.168.1.5');
    expect(whyPublic('127.0.0.1', PUBLIC_URL)).to.equal(`PUBLIC_URL is ${PUBLIC_URL}`);
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(whyPublic(host, undefined), host).to.equal(undefined);
  });

  it('desk and openai-realtime need both tokens in public; conference the Twilio token and the access token or a PIN; others nothing', () => {
    for (const handler of ['desk', 'openai-realtime']) {
      expect(refusal(handler, 'x', {})).to.match(/set CALLSTREAM_AUTH_TOKEN and TWILIO_AUTH_TOKEN\.$/);
      expect(refusal(handler, 'x', { twilioAuthToken: 't' })).to.match(/set CALLSTREAM_AUTH_TOKEN\.$/);
      expect(refusal(handler, 'x', { accessToken: 'a', roomPin: '1' })).to.match(/set TWILIO_AUTH_TOKEN\.$/);
      expect(refusal(handler, 'x', { accessToken: 'a', twilioAuthToken: 't' })).to.equal(undefined);
      expect(refusal(handler, undefined, {}), 'private').to.equal(undefined);
    }
    expect(refusal('conference', 'x', {})).to.match(/set TWILIO_AUTH_TOKEN and CALLSTREAM_AUTH_TOKEN \(or CALLSTREAM_ROOM_PIN\)\.$/);
    expect(refusal('conference', 'x', { twilioAuthToken: 't' })).to.match(/set CALLSTREAM_AUTH_TOKEN \(or CALLSTREAM_ROOM_PIN\)\.$/);
    expect(refusal('conference', 'x', { roomPin: '1' })).to.match(/set TWILIO_AUTH_TOKEN\.$/);
    expect(refusal('conference', 'x', { twilioAuthToken: 't', roomPin: '1' })).to.equal(undefined);
    expect(refusal('conference', 'x', { twilioAuthToken: 't', accessToken: 'a' })).to.equal(undefined);
    for (const handler of ['echo', 'reply-echo', 'echo-pcm16', 'invert', 'flip']) expect(refusal(handler, 'x', {}), handler).to.equal(undefined);
  });

  it('warns of what is open: a guarded demo on a private host, a public one without an access token, an access token without TWILIO_AUTH_TOKEN', () => {
    expect(demoAccessWarnings('desk', undefined, none).join('\n')).to.contain('before making it public');
    expect(demoAccessWarnings('echo', 'it listens on 0.0.0.0', none).join('\n')).to.contain('has no access token');
    expect(demoAccessWarnings('echo', 'x', { ...none, accessToken: 'a' }).join('\n')).to.contain('anyone can post the webhook and open a media stream');
    expect(demoAccessWarnings('desk', 'x', { accessToken: 'a', twilioAuthToken: 't', roomPin: undefined })).to.deep.equal([]);
  });

  it('takes the token from --auth-token over CALLSTREAM_AUTH_TOKEN, and refuses a weak one as a usage error naming where it came from, never echoing it', () => {
    expect(accessTokenFrom(undefined, { CALLSTREAM_AUTH_TOKEN: ACCESS })).to.equal(ACCESS);
    expect(accessTokenFrom(`${ACCESS}-flag`, { CALLSTREAM_AUTH_TOKEN: ACCESS })).to.equal(`${ACCESS}-flag`);
    expect(accessTokenFrom(undefined, { CALLSTREAM_AUTH_TOKEN: '' })).to.equal(undefined);
    for (const [flag, env, source] of [['short', {}, '--auth-token'], [undefined, { CALLSTREAM_AUTH_TOKEN: 'has spaces in it, see' }, 'CALLSTREAM_AUTH_TOKEN']] as const) {
      let error: unknown;
      try {
        accessTokenFrom(flag, env);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(UsageError);
      expect((error as Error).message).to.equal(`invalid ${source}: it must be 16 to 512 visible ASCII characters, no spaces.`);
      expect(exitCodeFor(error)).to.equal(2);
    }
  });
});

describe('security: a protected demo server (the desk on 0.0.0.0 with both tokens)', function () {
  this.timeout(60000);
  let cli: CliProcess;
  let url: string;

  before(async () => {
    cli = startServe('desk', '0.0.0.0', { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL }, ['--auth-token', ACCESS]);
    ({ url } = await listening(cli));
  });

  after(async () => {
    await stop(cli);
  });

  it('says how to open the page once, and never prints the token', async () => {
    await cli.waitForLine(/"open":/);
    const hint = logLines(cli).find((line) => typeof line.open === 'string');
    expect(hint?.open).to.equal(`${PUBLIC_URL}/desk?token=<CALLSTREAM_AUTH_TOKEN>`);
    expect(logLines(cli).find((line) => /listening/.test(line.msg))).to.include({ accessToken: true });
    expect(cli.lines.join('\n')).to.not.contain(ACCESS);
    expect(logLines(cli).filter((line) => line.level === 40).map((line) => line.msg).join('\n')).to.not.match(/metrics is public|no access token/);
  });

  it('answers 401 without the token on the desk, its feed and answers, the transports and status; the link sets the cookie that then serves', async () => {
    for (const [method, path] of [['GET', '/desk'], ['GET', '/desk/events'], ['POST', '/desk/answer'], ['GET', '/'], ['GET', '/status'], ['GET', '/metrics'], ['POST', '/webrtc/offer']] as const) {
      const response = await fetch(`${url}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: method === 'POST' ? '{"caller":"x"}' : undefined });
      expect(response.status, `${method} ${path}`).to.equal(401);
      await response.body?.cancel();
    }
    for (const path of ['/websocket/offer', '/v1/realtime']) expect((await tryUpgrade(url, path)).status, path).to.equal(401);
    expect((await fetch(`${url}/health`)).status).to.equal(200);

    const link = await fetch(`${url}/desk?token=${ACCESS}`, { redirect: 'manual' });
    expect(link.status).to.equal(303);
    expect(link.headers.get('location')).to.equal('/desk');
    const cookie = link.headers.getSetCookie()[0]!;
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i);
    const headers = { Cookie: cookie.split(';')[0]! };
    expect((await fetch(`${url}/desk`, { headers })).status).to.equal(200);
    const feed = new EventReader(`${url}/desk/events`, headers);

    // A phone call (signed: the Twilio route needs no access token) shows up in the feed.
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100077' } });
    const call = new TwilioMediaStream({ baseUrl: url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(hook.parameters);
    await feed.until(() => JSON.stringify(feed.events).includes('+15550100077'));
    const queue = (feed.events.at(-1)!.data as { queue: { id: string }[] }).queue;
    const answer = await fetch(`${url}/desk/answer`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ caller: queue[0]!.id }) });
    expect(answer.status).to.equal(200);
    expect(await answer.json()).to.have.property('ticket');
    call.close();
  });
});

describe('security: fastphone publishes, so its desk and openai-realtime need both tokens', function () {
  this.timeout(60000);
  let api: FakeTwilioApi;
  let lt: FakeLocaltunnelServer;
  let cwd: string;

  before(async () => {
    api = await FakeTwilioApi.start();
    lt = await FakeLocaltunnelServer.start();
    api.addNumber('+15550001111');
    cwd = await mkdtemp(path.join(os.tmpdir(), 'callstream-demo-start-'));
  });

  after(async () => {
    await lt.close();
    await api.close();
    await rm(cwd, { recursive: true, force: true });
  });

  const fastphone = (args: string[], env: Record<string, string>) =>
    track(runCli(['fastphone', '--number', '+15550001111', '--tunnel-host', lt.url, '--port', '0', ...args], { ...UNPROTECTED, LOG_LEVEL: 'warn', ...api.env(), ...env }, { cwd }));

  it('refuses the desk without CALLSTREAM_AUTH_TOKEN although it listens on loopback', async () => {
    const message = await refused(fastphone(['--handler', 'desk'], {}), /set CALLSTREAM_AUTH_TOKEN\.$/);
    expect(message).to.contain('a tunnel publishes it');
    expect(api.requests.filter((r) => r.method === 'POST'), 'the number was never touched').to.deep.equal([]);
  });

  it('serves the desk with both, printing how to open it once', async () => {
    const cli = fastphone(['--handler', 'desk'], { CALLSTREAM_AUTH_TOKEN: ACCESS });
    try {
      const line = await cli.waitForLine(/with the token open/, 20000);
      expect(line).to.match(/open https?:\/\/\S+\/desk\?token=<CALLSTREAM_AUTH_TOKEN> once/);
      expect(cli.lines.join('\n')).to.not.contain(ACCESS);
    } finally {
      cli.child.kill('SIGTERM');
      expect((await cli.exited).code).to.equal(0);
    }
  });
});
