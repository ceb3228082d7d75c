import { expect } from 'chai';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { ManualClock } from '../../src/clock.js';
import type { StreamOptions } from '../../src/options.js';
import type { Session } from '../../src/session/session.js';
import { socketLife } from '../support/socket-life.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { sleep, waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('idle places');
/** The default deadline: what these tests drive the Stream's clock through. */
const IDLE_MS = 60_000;
/** μ-law silence: what Twilio keeps sending for a muted caller. */
const SILENCE = Buffer.alloc(160, 0xff);

/** A bare client on `/v1/realtime`, its events recorded. */
class RealtimeClient {
  readonly ws: WebSocket;
  readonly events: ({ type: string } & Record<string, unknown>)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/realtime`);
    ({ opened: this.opened, closed: this.closed } = socketLife(this.ws));
    this.ws.on('message', (data) => this.events.push(JSON.parse(String(data)) as { type: string }));
  }

  of(type: string) {
    return this.events.filter((event) => event.type === type);
  }
}

/**
 * Sessions whose clients send nothing end at the idle deadline, on the Stream's own clock (a
 * ManualClock driven second by second, each second's traffic handled before the clock moves), while
 * clients that keep sending anything (silence, pings) keep their place.
 */
describe('security: idle sessions give their places back', function () {
  this.timeout(60000);
  let clock: ManualClock;
  let server: TestServer;
  let sessions: Session[];
  /** Every client socket, cut after each test (the server waits for upgraded sockets when it closes). */
  const sockets: WebSocket[] = [];

  async function serve(options: StreamOptions = {}): Promise<void> {
    clock = new ManualClock(0);
    server = await startTestServer(new EchoHandler(), { clock, ...options });
    sessions = [];
    server.stream.on('session', (session) => sessions.push(session));
  }

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await server.close();
  });

  /** Lets the Stream's clock run to `until` (ms), a second at a time, `keepAlive` sent and handled before each step. */
  async function runUntil(until: number, keepAlive: () => Promise<void> = async () => {}): Promise<void> {
    while (clock.now() < until) {
      await keepAlive();
      clock.advance(Math.min(1000, until - clock.now()));
    }
  }

  const reserved = async () => (await server.stream.status()).reserved;

  it('the default deadline is 60 s', async () => {
    await serve();
    expect(server.stream.options.idleTimeoutMs).to.equal(IDLE_MS);
  });

  it('a phone call that sent only `start` is ended (idle_timeout) and its place freed, while a silent caller whose media frames still flow keeps the call', async () => {
    await serve();
    const startOnly = await dialTestServer(server);
    const silent = await dialTestServer(server);
    sockets.push(startOnly.ws, silent.ws);
    await waitUntil(() => sessions.length === 2 && sessions.every((s) => s.isLive), 3000, 'two live calls');
    const [idle, muted] = sessions as [Session, Session];
    expect(await reserved()).to.equal(2);
    const keepAlive = async () => {
      const before = muted.framesIn;
      silent.sendMedia(SILENCE);
      await waitUntil(() => muted.framesIn > before, 3000, 'the frame handled');
    };

    await runUntil(IDLE_MS - 1, keepAlive);
    expect(idle.isLive, 'still live just before the deadline').to.equal(true);
    expect(await reserved()).to.equal(2);
    await runUntil(IDLE_MS + 2000, keepAlive);
    expect(idle.isClosed, 'ended by the deadline').to.equal(true);
    const info = await idle.ended;
    expect(info.reason).to.equal('idle_timeout');
    expect(info.message).to.match(/Nothing was received from the client for 6\d(\.\d)? s/);
    expect(info.durationMs).to.be.within(IDLE_MS, IDLE_MS + 2000);
    expect((await startOnly.closed).code).to.equal(1000);
    expect(await reserved(), 'the idle call gave its place back').to.equal(1);
    count(counts, 'idle sessions ended');

    await runUntil(2 * IDLE_MS + 10_000, keepAlive);
    expect(muted.isLive, 'the silent caller keeps the call').to.equal(true);
    expect(await reserved()).to.equal(1);
    count(counts, 'active sessions kept');
    silent.close();
  });

  it('a WebSocket client that sent only `start` is told and ended; in mode "send", clients that only ping (protocol pings, or the protocol\'s ping event) stay', async () => {
    await serve({ mode: 'send' });
    const startOnly = new AudioSocket(server.url);
    const protocolPings = new AudioSocket(server.url);
    const eventPings = new AudioSocket(server.url);
    for (const [i, client] of [startOnly, protocolPings, eventPings].entries()) {
      sockets.push(client.ws);
      await client.start(`idle-${i}`);
    }
    const [idle, pinged, evented] = sessions as [Session, Session, Session];
    let pongs = 0;
    protocolPings.ws.on('pong', () => pongs++);
    const keepAlive = async () => {
      const seen = { pongs, events: eventPings.messages.length };
      protocolPings.ws.ping();
      eventPings.send({ event: 'ping' });
      await waitUntil(() => pongs > seen.pongs && eventPings.messages.length > seen.events, 3000, 'both pings answered');
    };

    await runUntil(IDLE_MS - 1, keepAlive);
    expect(idle.isLive).to.equal(true);
    await runUntil(IDLE_MS + 2000, keepAlive);
    expect(idle.isClosed, 'ended by the deadline').to.equal(true);
    expect((await idle.ended).reason).to.equal('idle_timeout');
    const closed = await startOnly.closed;
    expect(closed.code).to.equal(1000);
    expect(closed.reason).to.match(/Nothing was received/);
    expect(startOnly.messages.some((m) => m.type === 'end_stream'), 'told why before the close').to.equal(true);
    expect(await reserved()).to.equal(2);
    count(counts, 'idle sessions ended');

    await runUntil(2 * IDLE_MS + 10_000, keepAlive);
    expect([pinged.isLive, evented.isLive], 'both pinging clients stay').to.deep.equal([true, true]);
    count(counts, 'active sessions kept', 2);
    protocolPings.close();
    eventPings.close();
  });

  it('a silent /v1/realtime connection holds no place and is closed at its first-event deadline; one quiet after its first event is ended at the idle deadline', async () => {
    await serve({ concurrencyLimit: 1 });
    const silent = new RealtimeClient(server.url);
    sockets.push(silent.ws);
    await silent.opened;
    await waitUntil(() => silent.of('session.created').length === 1, 3000, 'session.created');
    expect(await reserved(), 'a connection that said nothing holds no place').to.equal(0);

    // The one place is free for a client that speaks.
    const quiet = new RealtimeClient(server.url);
    sockets.push(quiet.ws);
    await quiet.opened;
    quiet.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime' } }));
    await waitUntil(() => quiet.of('session.updated').length === 1, 3000, 'session.updated');
    expect(await reserved()).to.equal(1);

    const startTimeoutMs = server.stream.options.websocket.startTimeoutMs;
    await runUntil(startTimeoutMs - 1);
    expect(silent.ws.readyState).to.equal(WebSocket.OPEN);
    await runUntil(startTimeoutMs);
    await waitUntil(() => silent.ws.readyState === WebSocket.CLOSED, 3000, 'the silent connection closed');
    const closed = await silent.closed;
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.equal(`No event within ${startTimeoutMs} ms.`);
    expect(silent.of('error')[0]?.error).to.include({ message: closed.reason });
    expect(sessions, 'the quiet client alone has a session').to.have.length(1);
    count(counts, 'silent connections closed');

    const [session] = sessions as [Session];
    await waitUntil(() => session.isLive, 3000, 'the quiet client\'s session open');
    const opened = session.startedAt; // on the Stream's clock: SETTLE_MS after its first event
    await runUntil(opened + IDLE_MS - 1);
    expect(session.isLive).to.equal(true);
    await runUntil(opened + IDLE_MS + 2000);
    expect(session.isClosed, 'ended by the deadline').to.equal(true);
    expect((await session.ended).reason).to.equal('idle_timeout');
    expect((await quiet.closed).code).to.equal(1000);
    expect(quiet.of('error').at(-1)?.error, 'told why before the close').to.include({ code: 'idle_timeout' });
    expect(await reserved()).to.equal(0);
    count(counts, 'idle sessions ended');
  });

  it('idleTimeoutMs 0 turns the deadline off', async () => {
    await serve({ idleTimeoutMs: 0 });
    sockets.push((await dialTestServer(server)).ws);
    await waitUntil(() => sessions[0]?.isLive === true, 3000, 'a live call');
    await runUntil(10 * IDLE_MS);
    expect(sessions[0]!.isLive).to.equal(true);
  });

  reportAfter('idle places', counts);
});

/**
 * WebRTC on real time (werift's consent checks run on their own timers): a browser that sends no audio
 * but keeps its connection stays, a killed tab is ended.
 */
describe('security: idle WebRTC peers', function () {
  this.timeout(40000);
  /** Longer than werift's consent interval (4-6 s), the only thing a peer that sends no media sends. */
  const DEADLINE_MS = 7000;
  let server: TestServer;
  const peers: TestPeer[] = [];

  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await server.close();
  });

  it('a peer that sends no audio but keeps its connection (STUN consent checks) stays past the deadline, as does one whose media alone flows; a killed tab is ended at it', async () => {
    server = await startTestServer(new EchoHandler(), { idleTimeoutMs: DEADLINE_MS, rateLimit: false });
    const sessions: Session[] = [];
    server.stream.on('session', (session) => sessions.push(session));
    const quiet = new TestPeer(server.url, 'quiet-peer', { codec: 'pcmu', dataChannel: false });
    const talking = new TestPeer(server.url, 'talking-peer', { codec: 'pcmu', dataChannel: false });
    const killed = new TestPeer(server.url, 'killed-tab', { codec: 'pcmu', dataChannel: false });
    peers.push(quiet, talking, killed);
    await quiet.connect();
    const connectedAt = performance.now();
    await talking.connect();
    await killed.connect();
    await waitUntil(() => sessions.length === 3 && sessions.every((s) => s.isLive), 5000, 'three live sessions');
    const [kept, spoken, cut] = sessions as [Session, Session, Session];
    // RTP (and the RTCP it brings) without a single STUN packet more.
    talking.silence('stun');
    const speaking = setInterval(() => talking.sendFrame(new Uint8Array(160).fill(0xff)), 20);
    killed.silence();
    const silencedAt = performance.now();

    const info = await cut.ended;
    const silentFor = performance.now() - silencedAt;
    expect(info.reason).to.equal('idle_timeout');
    // Never before the deadline; after it by two ticks (a tenth of it each) and what a busy machine adds.
    expect(silentFor, 'ended at the deadline').to.be.within(DEADLINE_MS - 50, DEADLINE_MS + 3000);
    count(counts, 'idle sessions ended');

    // Twice the deadline with no media either way: consent checks alone keep the quiet peer.
    await sleep(Math.max(0, connectedAt + 2 * DEADLINE_MS - performance.now()));
    clearInterval(speaking);
    expect(kept.isLive, 'the quiet peer stays').to.equal(true);
    expect(kept.framesIn, 'it sent no audio').to.equal(0);
    expect(spoken.isLive, 'the peer whose media flows stays').to.equal(true);
    expect((await server.stream.status()).reserved).to.equal(2);
    count(counts, 'active sessions kept', 2);
  });
});
