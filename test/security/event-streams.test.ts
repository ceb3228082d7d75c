/**
 * Server-sent event streams (`/outputs`, the desk's `/desk/events`) are bounded per client, per
 * client and subject, and in all, and they end: with their session (also when the instance holding
 * it is gone) and at shutdown (test/http/sse.test.ts: when the signal they were opened with aborts).
 * Issue 22, item 3: held streams had no cap and never ended on their own (19,980 of them refused /health).
 */
import net from 'node:net';
import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { Desk, deskPage } from '../../handlers/desk/index.js';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { MemoryHub } from '../../src/coordination/memory-hub.js';
import { EventReader } from '../support/sse.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('event streams');
const MULAW_8K = { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } };

/** A GET on a socket of its own, left open; resolves with its status once the answer's head is in (0: closed unanswered). */
function holdGet(port: number, path: string): Promise<{ status: number; body: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    let text = '';
    let settled = false;
    const settle = (status: number) => {
      if (settled) return;
      settled = true;
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4), socket });
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const head = /^HTTP\/1\.1 (\d{3})/.exec(text);
      // A refusal's body comes with its head; an accepted stream's first comment follows its head.
      if (head && text.includes('\r\n\r\n') && (head[1] !== '200' || text.includes(': '))) settle(Number(head[1]));
    });
    socket.on('error', () => {});
    socket.on('close', () => settle(0));
  });
}

async function startSession(server: TestServer, id: string): Promise<{ socket: AudioSocket; secret: string }> {
  const socket = new AudioSocket(server.url);
  await socket.start(id, MULAW_8K);
  return { socket, secret: server.stream.getSession(id)!.secret };
}

describe('security: event streams are bounded and end', function () {
  this.timeout(60_000);
  reportAfter('event streams', counts);
  let server: TestServer | undefined;
  const held: net.Socket[] = [];

  afterEach(async () => {
    for (const socket of held.splice(0)) socket.destroy();
    await server?.close();
    server = undefined;
  });

  it('2,000 event streams from one client leave /health answering; all but a few are refused with 429', async () => {
    server = await startTestServer(new EchoHandler(), { rateLimit: false });
    const sessions = await Promise.all(['sse-a', 'sse-b'].map((id) => startSession(server!, id)));
    const statuses: Record<number, number> = {};
    let body = '';
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const { secret } = sessions[i % 2]!;
          return holdGet(server!.running.port, `/outputs?webrtc_id=sse-${i % 2 === 0 ? 'a' : 'b'}&secret=${secret}`);
        }),
      );
      for (const answer of answers) {
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status === 200) held.push(answer.socket);
        else {
          if (answer.status === 429) body = answer.body;
          answer.socket.destroy();
        }
      }
      const health = await fetch(`${server.url}/health`);
      expect(health.status, `/health after ${(batch + 1) * 100} streams`).to.equal(200);
    }
    count(counts, 'streams asked for by one client', 2000);
    count(counts, 'streams held', statuses[200] ?? 0);
    expect(statuses[200], JSON.stringify(statuses)).to.equal(8); // 4 per session for one client
    expect(statuses[429], JSON.stringify(statuses)).to.equal(1992);
    expect(JSON.parse(body)).to.deep.include({ error: 'CONNECTION_LIMIT' });
    expect(server.stream.eventStreams.size).to.equal(8);
    for (const { socket } of sessions) socket.close();
  });

  it("ends a session's /outputs with the session, and at once when the instance holding it is gone", async () => {
    const hub = new MemoryHub();
    const options = { rateLimit: false as const, eventStreams: { keepAliveMs: 100 } };
    const a = await startTestServer(new EchoHandler(), { ...options, cluster: { coordination: new MemoryCoordination({ hub, instanceId: 'a', leaseMs: 600, renewEveryMs: 150 }) } });
    const b = await startTestServer(new EchoHandler(), { ...options, cluster: { coordination: new MemoryCoordination({ hub, instanceId: 'b', leaseMs: 600, renewEveryMs: 150 }) } });
    try {
      // Held here, and ended: the stream says so and closes.
      const local = await startSession(a, 'ends-here');
      const here = new EventReader(`${a.url}/outputs?webrtc_id=ends-here&secret=${local.secret}`);
      await here.until(() => here.status === 200);
      local.socket.close();
      await here.until(() => here.events.some((e) => e.event === 'end'));
      await here.done;
      // Held by b, followed through a; b dies without a word: a's stream ends once b's claim lapses.
      const remote = await startSession(b, 'ends-there');
      const there = new EventReader(`${a.url}/outputs?webrtc_id=ends-there&secret=${remote.secret}`);
      await there.until(() => there.status === 200);
      (b.stream.coordination as MemoryCoordination).crash();
      await there.until(() => there.events.some((e) => e.event === 'end'), 5000);
      await there.done;
      expect(a.stream.eventStreams.size).to.equal(0);
      remote.socket.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("bounds the desk's feed per client and ends it at shutdown", async () => {
    server = await startTestServer(new EchoHandler(), { rateLimit: false }, { beforeMount: (stream) => stream.addPage('desk', deskPage(new Desk(), () => true)) });
    const feeds = Array.from({ length: 5 }, () => new EventReader(`${server!.url}/desk/events`));
    await Promise.all(feeds.map((feed) => feed.until(() => feed.status !== 0)));
    expect(feeds.map((feed) => feed.status).sort()).to.deep.equal([200, 200, 200, 200, 429]);
    const open = feeds.filter((feed) => feed.status === 200);
    await Promise.all(open.map((feed) => feed.until(() => feed.events.some((e) => e.event === 'queue'))));
    await server.stream.shutdown();
    await Promise.all(open.map((feed) => feed.done));
    for (const feed of open) expect(feed.events.at(-1)).to.deep.equal({ event: 'end', data: { reason: 'server shutting down' } });
  });
});
