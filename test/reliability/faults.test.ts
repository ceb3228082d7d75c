import { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import type { AudioFrame } from '../../src/audio/frame.js';
import { createLogger } from '../../src/logger.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import { HealthyCall } from '../support/healthy-call.js';
import { AUTH_TOKEN, PUBLIC_URL, sleep, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('faults');
const never = new Promise<never>(() => {});
/** Frames each session's handler finished, by session id (the slow handler's progress). */
const handled = new Map<string, number>();

/**
 * Echoes, unless the session asks for a fault: a phone call through its `Fault` webhook parameter
 * (a custom parameter), a WebSocket through its id (`<fault>--<n>`).
 */
class FaultyHandler implements StreamHandler {
  readonly inputFormat = 'native' as const;
  private fault = '';

  copy(): FaultyHandler {
    return new FaultyHandler();
  }

  async startUp(ctx: SessionContext): Promise<void> {
    this.fault = ctx.facts.customParameters.fault || (ctx.id.includes('--') ? ctx.id.split('--')[0]! : '');
    if (this.fault === 'throw-startup') throw new Error('injected fault in startUp');
    if (this.fault === 'hang-startup') await never;
    if (this.fault === 'flood-out') ctx.send({ encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(8000 * 1200).fill(0x55) }); // 20 minutes
  }

  receive(frame: AudioFrame, ctx: SessionContext): void | Promise<void> {
    switch (this.fault) {
      case 'throw-receive':
        throw new Error('injected fault in receive');
      case 'reject-receive':
        return Promise.reject(new Error('injected rejection in receive'));
      case 'hang-receive':
        return never;
      case 'slow-receive':
        // A handler that takes real time: 100 ms per 20 ms frame, the slowness under test.
        return sleep(100).then(() => void handled.set(ctx.id, (handled.get(ctx.id) ?? 0) + 1));
      default:
        ctx.send(frame);
    }
  }

  async emit(): Promise<undefined> {
    if (this.fault === 'throw-emit') throw new Error('injected fault in emit');
    if (this.fault === 'hang-emit') await never;
    return undefined;
  }
}

/** A logger that keeps its JSON lines in memory. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('reliability: faults are injected and contained', function () {
  this.timeout(30000);
  let server: TestServer;
  let healthy: HealthyCall;
  let healthySocket: AudioSocket;
  let healthySocketTimer: NodeJS.Timeout;
  const log = memoryLogger();
  const opened: Session[] = [];

  before(async () => {
    server = await startTestServer(new FaultyHandler(), {
      logger: log.logger,
      customParameters: (call) => ({ fault: call.params.Fault ?? '' }),
      maxQueuedMs: 2000,
      webrtc: { inactivityTimeoutMs: 800 },
    });
    server.stream.on('session', (s) => opened.push(s));
    healthy = await HealthyCall.dial(server);
    // A second healthy session, on the WebSocket.
    healthySocket = new AudioSocket(server.url);
    await healthySocket.start('healthy-socket', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } });
    healthySocketTimer = setInterval(() => healthySocket.sendMedia(Buffer.alloc(160, 0x31)), 20);
  });

  after(async () => {
    // Both healthy sessions kept their audio through every fault.
    const from = performance.now() - 1000;
    await healthy.expectAlive(from);
    const before = healthySocket.media.length;
    await healthySocket.next(() => healthySocket.media.length > before, 3000).catch(() => undefined);
    expect(healthySocket.media.length, `the healthy WebSocket still echoes (state ${healthySocket.ws.readyState}, last ${JSON.stringify(healthySocket.messages.slice(-2))})`).to.be.greaterThan(before);
    count(counts, 'sessions survived', 2);
    clearInterval(healthySocketTimer);
    healthySocket.close();
    await healthy.hangUp();
    await server.close();
  });
  reportAfter('faults', counts);

  /** Places and sessions back to the two healthy ones. */
  async function expectFreed(): Promise<void> {
    await waitUntil(async () => {
      const status = await server.stream.status();
      return status.total <= 2 && status.reserved! <= 2;
    }, 3000, 'the two healthy sessions alone').catch(() => undefined); // the expectations below say what is left
    expect((await server.stream.status()).total, 'live sessions').to.equal(2);
    expect((await (await server.stream.status())).reserved, 'places held').to.equal(2);
  }

  async function dialFault(fault: string): Promise<{ call: TwilioMediaStream; session: Session }> {
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, Fault: fault } });
    const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    const next = new Promise<Session>((resolve) => {
      const listener = (s: Session) => {
        if (s.facts.callSid !== callSid) return;
        server.stream.off('session', listener);
        resolve(s);
      };
      server.stream.on('session', listener);
    });
    await call.begin(hook.parameters);
    return { call, session: await next };
  }

  describe('handler errors end only their own session', () => {
    for (const fault of ['throw-startup', 'throw-receive', 'reject-receive', 'throw-emit']) {
      it(`${fault}: a phone call closes with 1011, the others go on`, async () => {
        const { call, session } = await dialFault(fault);
        for (let i = 0; i < 5; i++) call.sendMedia(Buffer.alloc(160, 1));
        count(counts, 'faults injected');
        expect((await call.closed).code).to.equal(1011);
        expect((await session.ended).reason).to.equal('handler_error');
        await expectFreed();
        await healthy.expectAlive(performance.now() - 500);
      });

      it(`${fault}: a WebSocket gets {type: "error"} and 1011`, async () => {
        const socket = new AudioSocket(server.url);
        await socket.start(`${fault}--${Math.random().toString(36).slice(2, 8)}`);
        socket.sendMedia(Buffer.alloc(160, 1));
        count(counts, 'faults injected');
        const closed = await socket.closed;
        expect(closed.code).to.equal(1011);
        expect(socket.messages.some((m) => m.type === 'error' && /injected/.test(String(m.message)))).to.equal(true);
        await expectFreed();
      });
    }
  });

  describe('a slow handler: bounded queues, counted drops', () => {
    it('drops the oldest inbound frames beyond the backlog, counts them, and warns a few times only', async () => {
      const { call, session } = await dialFault('slow-receive');
      const heapBefore = process.memoryUsage().heapUsed;
      const sent = 3000; // 60 s of audio at once to a handler that takes 100 ms per 20 ms frame
      for (let i = 0; i < sent; i++) call.sendMedia(Buffer.alloc(160, i % 200));
      count(counts, 'faults injected');
      await waitUntil(() => session.framesIn === sent, 10000, 'every frame at the session');
      call.sendStop();
      await session.ended;
      const done = handled.get(session.id) ?? 0;
      expect(session.framesIn).to.equal(sent);
      // Everything not handled was dropped but for at most one backlog (50 frames): the queue never grew.
      expect(session.droppedInbound).to.be.within(sent - done - 51, sent - done);
      expect(process.memoryUsage().heapUsed - heapBefore, 'heap growth (bytes)').to.be.below(64 * 1024 * 1024);
      const warnings = log.lines.filter((l) => l.sessionId === session.id && l.msg === 'handler too slow: inbound frames dropped (oldest first)');
      // Warned at the 1st drop, the 50th, then each time the count doubles: 1, 50, 100, 200, ... (7 for ~2,900).
      const schedule: number[] = [];
      for (let at = 1; at <= session.droppedInbound; at = Math.max(50, at * 2)) schedule.push(at);
      expect(warnings.map((w) => w.droppedInbound), 'drop counts warned at').to.deep.equal(schedule);
      expect(warnings.every((w) => w.backlogFrames === 50), 'each warning names the backlog').to.equal(true);
      await expectFreed();
    });

    it('caps outbound audio queued beyond maxQueuedMs and counts what it dropped', async () => {
      const { call, session } = await dialFault('flood-out');
      count(counts, 'faults injected');
      await waitUntil(() => session.droppedOutboundMs > 0, 3000, 'the flood dropped');
      expect(session.queuedMs).to.be.at.most(2000);
      expect(session.droppedOutboundMs).to.be.at.least(1_190_000);
      expect(log.lines.some((l) => l.sessionId === session.id && l.msg === 'outbound queue full: audio dropped')).to.equal(true);
      call.sendStop();
      await session.ended;
      await expectFreed();
    });
  });

  describe('a handler that never returns', () => {
    for (const fault of ['hang-startup', 'hang-receive', 'hang-emit']) {
      it(`${fault}: the call still ends cleanly on stop and frees everything`, async () => {
        const { call, session } = await dialFault(fault);
        for (let i = 0; i < 120; i++) call.sendMedia(Buffer.alloc(160, 7));
        count(counts, 'faults injected');
        await waitUntil(() => session.framesIn === 120 && (fault !== 'hang-emit' || call.media.length > 0), 3000, 'every frame at the session');
        call.sendStop();
        expect((await call.closed).code).to.equal(1000);
        expect((await session.ended).reason).to.equal('remote_stop');
        if (fault === 'hang-emit') expect(call.media.length, 'receive still echoes while emit hangs').to.be.greaterThan(0);
        else expect(session.droppedInbound, 'frames behind the hung handler were dropped, not kept').to.be.at.least(120 - 51 - 1);
        expect(session.context.signal.aborted).to.equal(true);
        await expectFreed();
      });
    }

    it('hang-receive on a WebSocket: the session ends when the client closes', async () => {
      const socket = new AudioSocket(server.url);
      const id = `hang-receive--${Math.random().toString(36).slice(2, 8)}`;
      await socket.start(id);
      for (let i = 0; i < 60; i++) socket.sendMedia(Buffer.alloc(160, 3));
      count(counts, 'faults injected');
      await waitUntil(() => server.stream.getSession(id)?.framesIn === 60, 3000, 'every frame at the hung session');
      socket.close();
      await socket.closed;
      await expectFreed();
    });
  });

  describe('clients that vanish mid-call (TCP reset, no close frame)', () => {
    it('a phone call', async () => {
      const { call, session } = await dialFault('');
      call.sendMedia(Buffer.alloc(160, 9));
      await call.waitFor(() => call.media.length > 0, 2000, 'echo');
      (call.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
      count(counts, 'faults injected');
      const info = await session.ended;
      expect(info.reason).to.equal('remote_closed');
      expect(info.message).to.contain('1006');
      await expectFreed();
    });

    it('a WebSocket client', async () => {
      const socket = new AudioSocket(server.url);
      await socket.start(`vanish--${Math.random().toString(36).slice(2, 8)}`);
      const session = opened.at(-1)!;
      socket.sendMedia(Buffer.alloc(160, 9));
      await socket.next((m) => m.event === 'media', 2000);
      (socket.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
      count(counts, 'faults injected');
      expect((await session.ended).reason).to.equal('remote_closed');
      await expectFreed();
    });

    it('a browser tab killed: no more media, RTCP or consent checks, no close', async () => {
      const peer = new TestPeer(server.url, `killed-tab-${Math.random().toString(36).slice(2, 8)}`, { codec: 'pcmu' });
      try {
        await peer.connect();
        const session = opened.at(-1)!;
        // Half a second of audio at real-time pace, then the tab is gone: nothing more leaves it.
        await sendPaced(25, () => peer.sendFrame(new Uint8Array(160).fill(0x40)));
        peer.silence();
        const stopped = performance.now();
        count(counts, 'faults injected');
        const info = await session.ended;
        const silentFor = performance.now() - stopped;
        expect(info.reason).to.equal('idle_timeout');
        expect(info.message).to.match(/Nothing was received from the client/);
        expect(silentFor, 'ended by the inactivity timeout (800 ms)').to.be.within(700, 2500);
        await expectFreed();
      } finally {
        await peer.close();
      }
    });
  });
});
