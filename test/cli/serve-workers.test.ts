import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { type CliProcess, runCli } from '../support/cli.js';
import { AUTH_TOKEN, PUBLIC_URL } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

/** Environment variables the CLI reads, emptied so that only the flags count. */
const CLEAN_ENV = { CALLSTREAM_HANDLER: '', HOST: '', PORT: '', CONCURRENCY_LIMIT: '', TIME_LIMIT: '', WEB_CONCURRENCY: '', REDIS_URL: '', INSTANCE_ID: '', DYNO: '' };

interface LogLine {
  pid: number;
  msg: string;
  [field: string]: unknown;
}

function logLines(cli: CliProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of cli.lines) {
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a plain line
    }
  }
  return out;
}

/** One request on a connection of its own: node:cluster hands each new connection to the next worker. */
function request(url: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('callstream serve --workers 2, without Redis (node:cluster, coordinated through the primary)', function () {
  this.timeout(60000);
  let cli: CliProcess;
  let url: string;
  /** The workers serving now: pid → instance id. */
  const workers = () => new Map(logLines(cli).filter((l) => l.msg === 'callstream demo server listening').map((l) => [l.pid, String(l.instanceId)]));
  /** The first log line that matches, once it came. */
  const logged = async (match: (line: LogLine) => boolean, what: string) => {
    await waitUntil(() => logLines(cli).some(match), 5000, what);
    return logLines(cli).find(match)!;
  };

  before(async () => {
    cli = runCli(['serve', '--workers', '2', '--handler', 'echo', '--host', '127.0.0.1', '--port', '0', '--concurrency-limit', '1'], {
      ...CLEAN_ENV,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_URL,
      DRAIN_MS: '300',
      LOG_LEVEL: 'debug',
    });
    await cli.waitForLine(/callstream workers serving/, 30000);
    await waitUntil(() => workers().size === 2, 5000, 'both workers listening');
    const listening = logLines(cli).find((l) => l.msg === 'callstream demo server listening')!;
    url = String(listening.url);
  });

  after(() => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  });

  it('forks two workers on one port that both answer, each its own instance', async () => {
    expect(workers().size).to.equal(2);
    expect(new Set(logLines(cli).filter((l) => l.msg === 'callstream demo server listening').map((l) => l.url))).to.deep.equal(new Set([url]));
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const health = await request(`${url}/health`);
      expect(health.status).to.equal(200);
      seen.add(String(health.body.instanceId));
    }
    expect([...seen].sort()).to.deep.equal([...workers().values()].sort());
    for (const id of seen) expect(id).to.match(/\.w\d+$/);
  });

  it('serves a phone call whose webhook and media stream land on different workers', async () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100' } });
      expect(hook.streamUrl, hook.body).to.be.a('string');
      const call = new TwilioMediaStream({ baseUrl: url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await call.begin(hook.parameters);
      for (let i = 0; i < 10; i++) call.sendMedia(Buffer.alloc(160, i + 1));
      await call.waitFor(() => call.receivedAudio().length >= 1600, 5000, 'the echo');
      const webhookPid = (await logged((l) => l.callSid === callSid && l.msg === 'incoming call: stream TwiML sent', 'the webhook logged')).pid;
      const mediaPid = (await logged((l) => l.msg === 'session started' && (l.facts as { callSid?: string }).callSid === callSid, 'the session logged')).pid;
      call.sendStop();
      call.close();
      await call.closed;
      // The limit is 1: the call's place must be back before the next one.
      await waitUntil(async () => (await request(`${url}/status`)).body.reserved === 0, 5000, 'the place given back');
      if (webhookPid !== mediaPid) return;
    }
    expect.fail('no call crossed workers in 6 attempts');
  });

  it('holds one concurrency limit of 1 across both workers, whichever takes the session', async () => {
    const first = new AudioSocket(url);
    const started = await first.start('held-session');
    expect(started.event).to.equal('started');
    const holder = (await logged((l) => l.msg === 'session started' && l.sessionId === 'held-session', 'the session logged')).pid;
    const other = [...workers().keys()].find((pid) => pid !== holder)!;
    const secret = (started.session as { secret: string }).secret;

    // Fresh connections until each worker has refused one (above all the other one); every one is refused.
    const refusedBy = () => new Set(logLines(cli).filter((l) => l.msg === 'websocket refused: concurrency limit reached').map((l) => l.pid));
    const refusals = () => logLines(cli).filter((l) => l.msg === 'websocket refused: concurrency limit reached').length;
    for (let i = 0; i < 8 && !(refusedBy().has(other) && refusedBy().has(holder)); i++) {
      const logged = refusals();
      const next = new AudioSocket(url);
      const answer = await next.start(`second-${i}`);
      expect(answer.status, JSON.stringify(answer)).to.equal('failed');
      expect((answer.meta as { error: string }).error).to.equal('concurrency_limit_reached');
      await next.closed;
      await waitUntil(() => refusals() > logged, 2000, 'its log line');
    }
    expect([...refusedBy()].sort()).to.deep.equal([holder, other].sort());

    // Both workers count the place; only the holder has the session.
    const statuses = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < 6; i++) {
      const status = (await request(`${url}/status`)).body;
      statuses.set(String(status.instanceId), status);
    }
    expect(statuses.size).to.equal(2);
    for (const [instanceId, status] of statuses) {
      expect(status.reserved).to.equal(1);
      expect(status.total).to.equal(instanceId === workers().get(holder!) ? 1 : 0);
    }

    // Inputs reach the session from either worker (consecutive connections alternate between them).
    for (let i = 0; i < 4; i++) {
      const input = await request(`${url}/input_hook`, { method: 'POST', body: { websocket_id: 'held-session' }, headers: { 'x-callstream-secret': secret } });
      expect(input.status, JSON.stringify(input.body)).to.equal(200);
    }

    first.close();
    await first.closed;
    await waitUntil(async () => (await request(`${url}/status`)).body.reserved === 0, 5000, 'the place given back');
  });

  it('restarts a worker that dies, as a new instance', async () => {
    const before = workers();
    const [victim, victimId] = [...before][0]!;
    process.kill(victim, 'SIGKILL');
    await cli.waitForLine(/worker died: restarting it/, 5000);
    await waitUntil(() => workers().size === before.size + 1, 15000, 'a new worker listening');
    const fresh = [...workers()].find(([pid]) => !before.has(pid))!;
    expect(fresh[1]).to.not.equal(victimId);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(String((await request(`${url}/health`)).body.instanceId));
    expect(seen.has(fresh[1])).to.equal(true);
    expect(seen.has(victimId)).to.equal(false);
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    const live = new AudioSocket(url);
    expect((await live.start('live-at-sigterm')).event).to.equal('started');
    cli.child.kill('SIGTERM');
    expect((await live.closed).code).to.equal(1001);
    const exit = await cli.exited;
    expect(exit.code).to.equal(0);
    const stopped = logLines(cli).filter((l) => l.msg === 'worker stopped');
    expect(stopped.map((l) => l.code)).to.deep.equal([0, 0]);
    expect(logLines(cli).filter((l) => l.msg === 'worker died: restarting it')).to.have.length(1); // the test above, none since
    const stop = await logged((l) => l.msg === 'session stopped' && l.sessionId === 'live-at-sigterm', 'the session stopped');
    expect(stop.reason).to.equal('server_shutdown');
  });
});

describe('callstream serve --workers 2 that cannot start', function () {
  this.timeout(30000);

  // A worker that fails to start after forking (Redis out of reach) is tested in serve.test.ts.
  it('stops with exit 3 and the port named, forking nothing, when the port is taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const cli = runCli(['serve', '--workers', '2', '--host', '127.0.0.1', '--port', String(port)], CLEAN_ENV);
      const exit = await cli.exited;
      expect(exit.code).to.equal(3);
      expect(cli.stderr.join('')).to.equal(`callstream: port ${port} is in use on 127.0.0.1 (EADDRINUSE).\nhint: another program listens there: pick another port with --port or PORT; 0 picks a free one.\n`);
      expect(cli.lines).to.deep.equal([]);
    } finally {
      taken.close();
    }
  });
});
