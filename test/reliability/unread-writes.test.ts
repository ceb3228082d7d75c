import type { Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import type { Session } from '../../src/session/session.js';
import { HealthyCall } from '../support/healthy-call.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('peers that do not read');

/** A full garbage collection, so heapUsed counts what is retained (the flag is set at run time). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** `n` client frames of `text`, masked with a zero key (RFC 6455 requires a mask, not a random one). */
function maskedFrames(text: string, n: number): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('short frames only');
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  return Buffer.concat(Array<Buffer>(n).fill(frame));
}

describe('reliability: peers that stop reading are cut, whatever the server writes to them', function () {
  this.timeout(30000);
  reportAfter('peers that do not read', counts);
  let server: TestServer;

  before(async () => {
    server = await startTestServer(new EchoHandler(), { rateLimit: false });
  });

  after(async () => {
    await server.close();
  });

  it('cuts a WebSocket client that floods pings without reading the pongs, with heap growth under 10 MB', async () => {
    const gc = collector();
    const healthy = await HealthyCall.dial(server);
    const sessions: Session[] = [];
    server.stream.on('session', (s) => sessions.push(s));
    const program = new AudioSocket(server.url);
    const started = await program.start('deaf-pinger');
    expect(started.event).to.equal('started');
    const session = sessions.find((s) => s.id === 'deaf-pinger')!;
    let ended = false;
    void session.ended.then(() => (ended = true));

    const socket = (program.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const batch = maskedFrames('{"event":"ping"}', 25_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let sent = 0;
    const from = performance.now();
    try {
      while (!ended && !socket.destroyed && sent < 1_000_000) {
        const flushed = socket.write(batch);
        sent += 25_000;
        if (!flushed) await new Promise<void>((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
        await new Promise<void>((resolve) => setImmediate(resolve));
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
      await Promise.race([session.ended, new Promise((resolve) => setTimeout(resolve, 3000))]);
    } finally {
      socket.destroy();
    }
    const grewMb = (peak - before) / 1e6;
    count(counts, 'pings sent before the cut', sent);
    count(counts, 'MB of heap grown (at most)', Math.round(grewMb * 10) / 10);
    expect(ended, `the server cut the client (after ${sent} pings, ${Math.round(performance.now() - from)} ms)`).to.equal(true);
    expect(grewMb, 'heap growth (MB) while the client flooded').to.be.below(10);
    expect((await server.stream.status()).active.websocket).to.equal(0);

    await healthy.expectAlive(from, 5000);
    await healthy.hangUp();
  });

  it('refuses a ping before start as bad input (1002, told why)', async () => {
    const program = new AudioSocket(server.url);
    await program.opened;
    program.send({ event: 'ping' });
    const closed = await program.closed;
    expect(closed.code).to.equal(1002);
    expect(program.messages.some((m) => m.event === 'pong'), 'answered with a pong').to.equal(false);
    expect(program.messages.at(-1)).to.deep.include({ type: 'error', message: 'ping before start.' });
  });
});
