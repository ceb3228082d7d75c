import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createDemoStream, demoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import { UsageError } from '../../src/cli/exit.js';
import { parseServeArgs } from '../../src/cli/serve-command.js';
import { type ServeFlags, serveSettings } from '../../src/cli/serve-settings.js';
import { ROOT, runCli } from '../support/cli.js';
import { AUTH_TOKEN, PUBLIC_URL } from '../support/server.js';
import { FakeRealtimeServer } from '../support/fake-realtime.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';

/** Environment variables `serve` reads, emptied (an empty one counts as unset) so that a test's own flags decide. */
const CLEAN_ENV = {
  CALLSTREAM_HANDLER: '',
  HOST: '',
  PORT: '',
  TRUST_PROXY: '',
  CONCURRENCY_LIMIT: '',
  TIME_LIMIT: '',
  WEB_CONCURRENCY: '',
  REDIS_URL: '',
  INSTANCE_ID: '',
  DYNO: '',
  DRAIN_MS: '',
};

/** The defaults `serve --help` states, by option: what follows "default" up to ";" or ")". */
function statedDefaults(help: string): Record<string, string> {
  const stated: Record<string, string> = {};
  for (const match of help.matchAll(/^ {2}--([a-z-]+) .*?\bdefault ([^;)]+)/gm)) stated[match[1]!] = match[2]!.trim();
  return stated;
}

/** The log line that says the server listens, parsed. */
async function listening(cli: ReturnType<typeof runCli>): Promise<Record<string, unknown>> {
  return JSON.parse(await cli.waitForLine(/demo server listening/)) as Record<string, unknown>;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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

  it('serves openai-realtime with the model, voice and instructions its flags give (over the environment)', async () => {
    const key = 'sk-test-serve-flags';
    const fake = await FakeRealtimeServer.start({ apiKey: key });
    const cli = runCli(
      ['serve', '--handler', 'openai-realtime', '--host', '127.0.0.1', '--port', '0', '--realtime-model', 'gpt-realtime-mini', '--realtime-voice', 'cedar', '--realtime-instructions', 'Speak French.'],
      // PUBLIC_URL makes the host public: openai-realtime needs the access token there too.
      { ...CLEAN_ENV, TWILIO_AUTH_TOKEN: AUTH_TOKEN, CALLSTREAM_AUTH_TOKEN: 'serve-test-access-token-1234', PUBLIC_URL, OPENAI_API_KEY: key, OPENAI_REALTIME_URL: fake.url, OPENAI_REALTIME_MODEL: 'from-the-environment', OPENAI_REALTIME_VOICE: 'alloy' },
    );
    try {
      const { url } = (await listening(cli)) as { url: string };
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
      const call = new TwilioMediaStream({ baseUrl: url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await call.begin(hook.parameters);
      const model = await fake.connection();
      expect(model.url.searchParams.get('model')).to.equal('gpt-realtime-mini');
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      const session = model.sent('session.update')[0]!.session as { instructions?: string; audio?: { output?: { voice?: string } } };
      expect(session.instructions).to.equal('Speak French.');
      expect(session.audio?.output?.voice).to.equal('cedar');
      call.close();
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
      await fake.close();
    }
  });

  it('serves openai-realtime with a limit of 10 sessions, 10 minutes each and the idle deadline unless told otherwise, and says so at start', async () => {
    const key = 'sk-test-serve-limits';
    const fake = await FakeRealtimeServer.start({ apiKey: key });
    const cli = runCli(['serve', '--handler', 'openai-realtime', '--host', '127.0.0.1', '--port', '0'], { ...CLEAN_ENV, OPENAI_API_KEY: key, OPENAI_REALTIME_URL: fake.url });
    try {
      const said = JSON.parse(await cli.waitForLine(/openai-realtime: each session spends your OpenAI key/)) as Record<string, unknown>;
      expect(said).to.include({ concurrencyLimit: 10, timeLimit: 600, idleTimeout: 60 });
      expect(said.msg).to.match(/sessions at once: 10, time limit: 600 s, ended when idle for 60 s/);
      const started = await listening(cli);
      expect([started.concurrencyLimit, started.timeLimit]).to.deep.equal([10, 600]);
      const status = (await (await fetch(`${String(started.url)}/status`)).json()) as { limit: unknown; timeLimit: unknown };
      expect([status.limit, status.timeLimit]).to.deep.equal([10, 600]);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
      await fake.close();
    }
    // What the operator sets wins; what it leaves unset (undefined, as the CLI passes it) keeps the demo's default.
    const savedKey = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = key;
    try {
      const stream = createDemoStream('openai-realtime', { concurrencyLimit: 3, timeLimit: undefined, logger: createLogger({ level: 'silent' }) });
      expect([stream.options.concurrencyLimit, stream.options.timeLimitMs]).to.deep.equal([3, 600_000]);
      await stream.shutdown();
    } finally {
      if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = savedKey;
    }
  });

  it('runs with the defaults its --help states', async () => {
    const help = runCli(['serve', '--help']);
    expect((await help.exited).code).to.equal(0);
    const text = help.lines.join('\n');
    const stated = statedDefaults(text);
    expect(Object.keys(stated).sort()).to.deep.equal(['concurrency-limit', 'handler', 'host', 'instance-id', 'port', 'redis', 'time-limit', 'trust-proxy', 'workers']);

    // Everything at its default but the port (8000 may be taken here): read as the server reads it.
    expect(serveSettings({}, {}).port).to.equal(Number(stated.port));
    const cli = runCli(['serve', '--port', '0'], CLEAN_ENV);
    const started = await listening(cli);
    expect(started.handler).to.equal(stated.handler);
    const title = demoHandler(stated.handler!).options.uiArgs?.title;
    if (title) expect(await (await fetch(`${String(started.url)}/`)).text()).to.contain(`<title>${title}</title>`);
    expect(started.host).to.equal(stated.host);
    expect([stated['trust-proxy'], started.trustProxy]).to.deep.equal(['off', false]);
    expect([stated['concurrency-limit'], started.concurrencyLimit]).to.deep.equal(['unlimited', null]);
    expect([stated['time-limit'], started.timeLimit]).to.deep.equal(['none', null]);
    expect(stated.redis).to.match(/^none: state in memory/);
    expect(started.coordination).to.equal('memory');
    expect(stated['instance-id']).to.match(/^generated/);
    expect(started.instanceId).to.be.a('string').and.not.equal('');
    expect(started.drainMs).to.equal(Number(/DRAIN_MS, default (\d+)/.exec(text)?.[1]));
    // One worker: this very process serves, nothing is forked.
    expect(stated.workers).to.equal('1');
    expect(started.pid).to.equal(cli.child.pid);
    expect(cli.lines.join('\n')).to.not.contain('starting workers');
    // The Stream itself says the same.
    const status = (await (await fetch(`${String(started.url)}/status`)).json()) as { limit: unknown; timeLimit: unknown; coordination: { kind: string } };
    expect([status.limit, status.timeLimit, status.coordination.kind]).to.deep.equal([null, null, 'memory']);

    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).to.equal(0);
  });

  it('takes the limits and the instance id from flags or the environment, the flag first', async () => {
    const cli = runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--concurrency-limit', '3', '--instance-id', 'web-a'], {
      ...CLEAN_ENV,
      CONCURRENCY_LIMIT: '7',
      TIME_LIMIT: '2.5',
    });
    const started = await listening(cli);
    expect([started.concurrencyLimit, started.timeLimit, started.instanceId]).to.deep.equal([3, 2.5, 'web-a']);
    const status = (await (await fetch(`${String(started.url)}/status`)).json()) as { limit: unknown; timeLimit: unknown; instanceId: unknown };
    expect([status.limit, status.timeLimit, status.instanceId]).to.deep.equal([3, 2.5, 'web-a']);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).to.equal(0);
    expect(serveSettings({}, { DYNO: 'web.1' }).instanceId, "Heroku's dyno name, made unique").to.match(/^web\.1-[0-9a-f]{6}$/);
    expect(serveSettings({}, { DYNO: 'web.1', INSTANCE_ID: 'x' }).instanceId).to.equal('x');
    expect(serveSettings({}, { WEB_CONCURRENCY: '4' }).workers).to.equal(4);
    expect(serveSettings({ workers: '2' }, { WEB_CONCURRENCY: '4' }).workers).to.equal(2);
    expect(serveSettings({}, { REDIS_URL: 'rediss://:pw@example.com:6380' }).redis).to.equal('rediss://:pw@example.com:6380');
  });

  it('refuses bad values with a usage error naming the flag or variable (and never a Redis password)', async () => {
    const bad: [ServeFlags, NodeJS.ProcessEnv, RegExp][] = [
      [{ 'concurrency-limit': '0' }, {}, /^invalid --concurrency-limit "0"/],
      [{ 'concurrency-limit': '1.5' }, {}, /--concurrency-limit "1.5"/],
      [{}, { CONCURRENCY_LIMIT: 'many' }, /^invalid CONCURRENCY_LIMIT "many"/],
      [{ 'time-limit': '0' }, {}, /--time-limit "0"/],
      [{ 'time-limit': 'soon' }, {}, /--time-limit "soon"/],
      [{}, { TIME_LIMIT: '-3' }, /TIME_LIMIT "-3"/],
      [{ workers: '0' }, {}, /--workers "0"/],
      [{ workers: '2x' }, {}, /--workers "2x"/],
      [{ workers: '1000' }, {}, /--workers "1000"/],
      [{}, { WEB_CONCURRENCY: 'abc' }, /WEB_CONCURRENCY "abc"/],
      [{ port: '70000' }, {}, /--port "70000"/],
      [{}, { PORT: 'http' }, /PORT "http"/],
      [{}, { DRAIN_MS: '-1' }, /DRAIN_MS "-1"/],
      [{ redis: 'http://user:hunter2@example.com' }, {}, /^invalid --redis: a http: URL/],
      [{}, { REDIS_URL: 'hunter2' }, /^invalid REDIS_URL: not a URL/],
      [{ 'instance-id': 'a b' }, {}, /--instance-id "a b"/],
      [{ handler: 'nope' }, {}, /invalid --handler "nope"/],
    ];
    for (const [flags, env, message] of bad) {
      let error: unknown;
      try {
        serveSettings(flags, env);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify({ flags, env })).to.be.instanceOf(UsageError);
      expect((error as UsageError).message).to.match(message).and.not.contain('hunter2');
      expect((error as UsageError).hint).to.be.a('string').and.not.contain('hunter2');
    }

    const flag = runCli(['serve', '--workers', 'zero'], CLEAN_ENV);
    expect((await flag.exited).code).to.equal(2);
    expect(flag.stderr.join('')).to.match(/callstream: invalid --workers "zero"\.\nhint: give a whole number of processes/);
    const redis = runCli(['serve'], { ...CLEAN_ENV, REDIS_URL: 'http://user:hunter2@example.com' });
    expect((await redis.exited).code).to.equal(2);
    expect(redis.stderr.join('')).to.match(/invalid REDIS_URL: a http: URL/).and.not.contain('hunter2');
  });

  it("Procfile: the web line runs serve on Heroku's PORT, with WEB_CONCURRENCY workers (1 without it)", () => {
    const web = /^web:\s*(.+)$/m.exec(readFileSync(path.join(ROOT, 'Procfile'), 'utf8'))?.[1];
    expect(web).to.be.a('string');
    // Heroku runs the line through bash; `node` stands in here, printing what it was given.
    const run = (env: Record<string, string>) =>
      execFileSync('bash', ['--norc', '--noprofile', '-c', `node() { printf '%s\\n' "TRUST_PROXY=$TRUST_PROXY" "$@"; }; ${web}`], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
        .toString()
        .trim()
        .split('\n');
    const [trust, script, command, ...args] = run({ PORT: '5000', WEB_CONCURRENCY: '3' });
    expect([trust, script, command]).to.deep.equal(['TRUST_PROXY=1', 'dist/src/cli/main.js', 'serve']);
    const settings = serveSettings(parseServeArgs(args), {});
    expect([settings.host, settings.port, settings.workers]).to.deep.equal(['0.0.0.0', 5000, 3]);
    expect(serveSettings(parseServeArgs(run({ PORT: '5000' }).slice(3)), {}).workers).to.equal(1);
  });

  const redisPending = !existsSync(path.join(ROOT, 'src/coordination/redis.ts'));
  describe(`with --redis to a closed port${redisPending ? ' [skipped: RedisCoordination (src/coordination/redis.ts) is not on this branch yet]' : ''}`, () => {
    beforeEach(function () {
      if (redisPending) this.skip();
    });

    for (const workers of ['1', '2']) {
      it(`exits 1 within a few seconds, naming Redis, and never listens (--workers ${workers})`, async () => {
        const port = await closedPort();
        const cli = runCli(['serve', '--redis', `redis://127.0.0.1:${port}`, '--host', '127.0.0.1', '--port', '0', '--workers', workers], CLEAN_ENV);
        const startedAt = performance.now();
        const exit = await cli.exited;
        expect(performance.now() - startedAt).to.be.below(8000);
        expect(exit.code).to.equal(1);
        expect(cli.stderr.join('')).to.match(/COORDINATION_UNAVAILABLE|Redis/);
        expect(cli.lines.join('\n')).to.not.match(/demo server listening|restarting/);
      });
    }
  });
});
