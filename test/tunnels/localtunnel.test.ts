import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { CallstreamError } from '../../src/errors.js';
import { LocalTunnel, validateSubdomain } from '../../tunnels/localtunnel.js';
import type { OpenTunnel } from '../../tunnels/tunnel.js';
import { ROOT, TSX_LOADER } from '../support/cli.js';
import { FakeLocaltunnelServer } from '../support/localtunnel-server.js';
import { AUTH_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { rejection } from '../support/rejection.js';
import { waitUntil } from '../support/wait.js';

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('tunnels: localtunnel (the real client against a localtunnel-protocol server on loopback)', function () {
  this.timeout(30000);
  let lt: FakeLocaltunnelServer;
  let server: TestServer | undefined;
  let tunnel: OpenTunnel | undefined;
  const calls: TwilioMediaStream[] = [];

  beforeEach(async () => {
    lt = await FakeLocaltunnelServer.start({ maxSockets: 2 });
  });

  afterEach(async () => {
    for (const call of calls.splice(0)) call.destroy();
    await tunnel?.close();
    tunnel = undefined;
    await server?.close();
    server = undefined;
    await lt.close();
  });

  async function dial(publicUrl: string, callSid = sid('CA')) {
    const host = lt.hostOf(publicUrl);
    const hook = await postWebhook({ baseUrl: lt.url, host, publicUrl, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100' } });
    expect(hook.status, hook.body).to.equal(200);
    const call = new TwilioMediaStream({ baseUrl: lt.url, host, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    calls.push(call);
    await call.begin(hook.parameters);
    return { hook, call };
  }

  it('carries a signed webhook and a whole phone call (echo) through the tunnel, URLs built from the tunnel', async () => {
    server = await startTestServer(new EchoHandler());
    tunnel = await new LocalTunnel({ host: lt.url }).open(server.running.port);
    expect(tunnel.url).to.match(/^http:\/\/[a-z0-9]+\.lt\.test:\d+$/);
    server.stream.setPublicUrl(tunnel.url);

    const { hook, call } = await dial(tunnel.url);
    // The client rewrote the Host header to 127.0.0.1, yet the TwiML points back through the tunnel.
    expect(hook.streamUrl).to.equal(`${tunnel.url.replace(/^http/, 'ws')}/telephone/handler`);
    for (let i = 0; i < 10; i++) call.sendMedia(Buffer.alloc(160, i + 1));
    await call.waitFor(() => call.receivedAudio().length >= 1600, 5000, 'echo through the tunnel');
    expect(call.receivedAudio().subarray(0, 160).equals(Buffer.alloc(160, 1))).to.equal(true);

    // A signature made for the address the app sees after the rewrite is refused: only the tunnel URL counts.
    const forged = await postWebhook({ baseUrl: lt.url, host: lt.hostOf(tunnel.url), publicUrl: server.url, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(forged.status).to.equal(403);
  });

  it('lets each call hold one tunnel socket: with max_conn_count 2, a webhook waits while two calls are live', async () => {
    server = await startTestServer(new EchoHandler());
    tunnel = await new LocalTunnel({ host: lt.url }).open(server.running.port);
    server.stream.setPublicUrl(tunnel.url);
    const first = await dial(tunnel.url);
    const second = await dial(tunnel.url);
    let answered = false;
    const third = postWebhook({ baseUrl: lt.url, host: lt.hostOf(tunnel.url), publicUrl: tunnel.url, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } }).then((r) => {
      answered = true;
      return r;
    });
    await waitUntil(() => lt.waitingFor(tunnel!.url) === 1, 3000, 'the webhook waiting at the tunnel server for a socket');
    expect(answered, 'no tunnel socket is free while both calls hold one').to.equal(false);
    first.call.close();
    expect((await third).status).to.equal(200);
    second.call.close();
  });

  it('asks for a valid subdomain and gets it', async () => {
    server = await startTestServer(new EchoHandler());
    tunnel = await new LocalTunnel({ host: lt.url, subdomain: 'my-voice-bot' }).open(server.running.port);
    expect(tunnel.url).to.equal(`http://my-voice-bot.lt.test:${lt.port}`);
    expect(lt.handshakes).to.deep.equal(['my-voice-bot']);
  });

  it('refuses a bad subdomain locally, before anything reaches the server', () => {
    for (const bad of ['abc', 'My-Bot', 'my_bot', '-mybot', 'mybot-', 'a'.repeat(64), 'my bot', '']) {
      expect(() => new LocalTunnel({ host: lt.url, subdomain: bad }), bad).to.throw(CallstreamError, /cannot be a tunnel subdomain/);
    }
    expect(validateSubdomain('abcd')).to.equal('abcd');
    expect(validateSubdomain('a'.repeat(63))).to.equal('a'.repeat(63));
    expect(lt.handshakes).to.deep.equal([]);
  });

  it('fails at once with the server\'s message when it refuses the subdomain (the bare client would retry forever)', async () => {
    lt.refusals.set('taken-name', 'Subdomain is taken');
    const started = performance.now();
    const error = await rejection(new LocalTunnel({ host: lt.url, subdomain: 'taken-name', startTimeoutMs: 10_000 }).open(1));
    expect(error.code).to.equal('TUNNEL_ERROR');
    expect(error.message).to.contain('Subdomain is taken').and.to.contain('HTTP 403');
    expect(error.hint).to.match(/another one/);
    expect(performance.now() - started).to.be.below(1000);
    expect(lt.handshakes).to.deep.equal(['taken-name']);
  });

  it('gives up after the start timeout when the server is down, and says why', async () => {
    const port = await deadPort();
    const started = performance.now();
    const error = await rejection(new LocalTunnel({ host: `http://127.0.0.1:${port}`, startTimeoutMs: 1200 }).open(1));
    const elapsed = performance.now() - started;
    expect(error.code).to.equal('TUNNEL_ERROR');
    expect(error.message).to.match(/No tunnel from http:\/\/127\.0\.0\.1:\d+ within 1200 ms/).and.to.contain('ECONNREFUSED');
    expect(error.hint).to.contain('--tunnel-host');
    expect(elapsed).to.be.within(1100, 2200);
  });

  it('gives up on a server that accepts connections but never answers, and drops its connection', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume();
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const error = await rejection(new LocalTunnel({ host: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, startTimeoutMs: 500 }).open(1));
      expect(error.code).to.equal('TUNNEL_ERROR');
      await waitUntil(() => sockets.size === 0, 1000, 'the abandoned request closed');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('does not keep a process alive after giving up (a separate Node process exits by itself)', async () => {
    const port = await deadPort();
    const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'test/tunnels/fixtures/open-tunnel.ts'), `http://127.0.0.1:${port}`, '800'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exit;
    clearTimeout(guard);
    expect(code, stderr).to.equal(0);
    const report = JSON.parse(stdout.trim()) as { code: string; elapsedMs: number; exitedAfterMs?: number };
    expect(report.code).to.equal('TUNNEL_ERROR');
    expect(report.elapsedMs).to.be.within(700, 1800);
  });

  it('reports an error when the tunnel server goes away after opening', async () => {
    server = await startTestServer(new EchoHandler());
    tunnel = await new LocalTunnel({ host: lt.url }).open(server.running.port);
    const failed = new Promise<Error>((resolve) => tunnel!.once('error', resolve));
    await lt.close();
    const error = await failed;
    expect(error).to.be.instanceOf(CallstreamError);
    expect((error as CallstreamError).code).to.equal('TUNNEL_ERROR');
    expect(error.message).to.contain(tunnel.url);
    let closes = 0;
    tunnel.on('close', () => closes++);
    await tunnel.close();
    await tunnel.close();
    expect(closes).to.equal(1);
  });
});
