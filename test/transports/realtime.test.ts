import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import OpenAI from 'openai';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import WebSocket from 'ws';
import { EchoHandler, EnergyDetector, ReplyOnPause } from '../../handlers/index.js';
import { alawEncode } from '../../src/audio/alaw.js';
import { mulawEncode } from '../../src/audio/mulaw.js';
import type { SessionContext } from '../../src/session/handler.js';
import type { Session } from '../../src/session/session.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { socketLife } from '../support/socket-life.js';
import { sendPaced, sleep, waitUntil } from '../support/wait.js';

type Event = { type: string } & Record<string, any>;
const KEY = 'sk-local-test-key';

function tone(ms: number, rate: number, frequency: number, amplitude = 8000): Int16Array {
  const samples = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
  return samples;
}

const bytesOf = (samples: Int16Array) => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);

/** TLS in front of the test server: the official client insists on wss://, with a throwaway certificate. */
async function tlsProxy(targetPort: number, key: string, cert: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key, cert }, (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The official `openai` package's Realtime WebSocket client (GA or beta), with what it receives recorded. */
class OfficialClient {
  readonly rt: OpenAIRealtimeWS | BetaRealtimeWS;
  readonly events: Event[] = [];
  readonly errors: Error[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(port: number, ca: string, options: { beta?: boolean; apiKey?: string } = {}) {
    const client = new OpenAI({ apiKey: options.apiKey ?? KEY, baseURL: `https://127.0.0.1:${port}/v1` });
    this.rt = options.beta ? new BetaRealtimeWS({ model: 'gpt-realtime', options: { ca } }, client) : new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca } }, client);
    (this.rt as OpenAIRealtimeWS).on('event', (event) => this.events.push(event as unknown as Event));
    (this.rt as OpenAIRealtimeWS).on('error', (error) => this.errors.push(error));
    ({ opened: this.opened, closed: this.closed } = socketLife(this.rt.socket));
  }

  send(event: Record<string, unknown>): void {
    (this.rt as OpenAIRealtimeWS).send(event as never);
  }

  of(type: string): Event[] {
    return this.events.filter((event) => event.type === type);
  }

  /** The audio of every delta of `type`, concatenated. */
  audio(type = 'response.output_audio.delta'): Buffer {
    return Buffer.concat(this.of(type).map((event) => Buffer.from(event.delta as string, 'base64')));
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    await waitUntil(predicate, timeoutMs, `${what} (got ${this.events.map((e) => e.type).join(', ')})`);
  }

  close(): void {
    this.rt.close();
  }
}

/** A bare WebSocket on the route, for what no well-behaved client sends. */
class RawClient {
  readonly ws: WebSocket;
  readonly events: Event[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/realtime');
    ({ opened: this.opened, closed: this.closed } = socketLife(this.ws));
    this.ws.on('message', (data) => this.events.push(JSON.parse(String(data)) as Event));
  }

  send(event: unknown): void {
    this.ws.send(typeof event === 'string' ? event : JSON.stringify(event));
  }

  async until(predicate: () => boolean, what: string): Promise<void> {
    await waitUntil(predicate, 5000, `${what} (got ${JSON.stringify(this.events.map((e) => e.type))})`);
  }

  close(): void {
    this.ws.close();
  }
}

describe('transports/realtime: OpenAI\'s Realtime protocol, served', function () {
  this.timeout(20000);
  let dir: string;
  let cert: string;
  let key: string;
  let server: TestServer | undefined;
  let proxy: Awaited<ReturnType<typeof tlsProxy>> | undefined;
  const clients: { close(): void }[] = [];
  const sessions: Session[] = [];

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'callstream-realtime-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await proxy?.close();
    proxy = undefined;
    await server?.close();
    server = undefined;
    sessions.length = 0;
  });

  async function serve(handler: Parameters<typeof startTestServer>[0], options: Parameters<typeof startTestServer>[1] = {}): Promise<void> {
    server = await startTestServer(handler, options);
    server.stream.on('session', (session) => sessions.push(session));
    proxy = await tlsProxy(server.running.port, key, cert);
  }

  function official(options: { beta?: boolean; apiKey?: string } = {}): OfficialClient {
    const client = new OfficialClient(proxy!.port, cert, options);
    clients.push(client);
    return client;
  }

  function raw(): RawClient {
    const client = new RawClient(server!.url);
    clients.push(client);
    return client;
  }

  it('the official client (GA): session.created, session.updated, audio in, the echo\'s audio out as response deltas, response.done', async () => {
    await serve(new EchoHandler());
    const client = official();
    await client.opened;
    await client.until(() => client.of('session.created').length === 1, 'session.created');
    const created = client.of('session.created')[0]!.session;
    expect(created).to.include({ object: 'realtime.session', type: 'realtime' });
    expect(created.audio.input.format).to.deep.equal({ type: 'audio/pcm', rate: 24000 });
    client.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Echo.', audio: { input: { format: { type: 'audio/pcm', rate: 24000 } }, output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } } } });
    await client.until(() => client.of('session.updated').length === 1, 'session.updated');
    expect(client.of('session.updated')[0]!.session).to.deep.include({ instructions: 'Echo.', id: created.id });

    const said = bytesOf(tone(500, 24000, 440));
    await sendPaced(25, (i) => client.send({ type: 'input_audio_buffer.append', audio: said.subarray(i * 960, (i + 1) * 960).toString('base64') }), 2);
    await client.until(() => client.audio().length >= said.length, 'the echo');
    expect(client.audio().equals(said)).to.equal(true);
    const opened = client.of('callstream.session.opened')[0]!;
    expect(opened.session.id).to.equal(created.id);
    expect(server!.stream.getSession(created.id)).to.equal(sessions[0]);
    expect(sessions[0]!.transport).to.equal('websocket');
    const types = client.events.map((e) => e.type);
    expect(types.indexOf('response.created')).to.be.below(types.indexOf('response.output_audio.delta'));
    expect(types).to.include.members(['response.output_item.added', 'response.content_part.added']);
    await client.until(() => client.of('response.done').length === 1, 'response.done once the echo has played');
    expect(client.of('response.done')[0]!.response).to.include({ status: 'completed' });
    expect(client.errors).to.deep.equal([]);
    client.close();
    expect((await sessions[0]!.ended).reason).to.equal('remote_closed');
  });

  it('the official beta client with g711_ulaw: beta event names, μ-law bytes untouched both ways', async () => {
    await serve(new EchoHandler());
    const client = official({ beta: true });
    await client.opened;
    client.send({ type: 'session.update', session: { modalities: ['audio', 'text'], input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' } });
    await client.until(() => client.of('session.updated').length === 1, 'session.updated');
    expect(client.of('session.updated')[0]!.session).to.include({ input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' });
    const said = Buffer.from(mulawEncode(tone(400, 8000, 440)));
    for (let i = 0; i < 20; i++) client.send({ type: 'input_audio_buffer.append', audio: said.subarray(i * 160, (i + 1) * 160).toString('base64') });
    await client.until(() => client.audio('response.audio.delta').length >= said.length, 'the echo');
    expect(client.audio('response.audio.delta').equals(said)).to.equal(true);
    expect(client.of('response.output_audio.delta')).to.deep.equal([]);
    expect(sessions[0]!.inputFormat).to.deep.equal({ encoding: 'mulaw', sampleRate: 8000 }, 'the session carries μ-law: no transcoding');
  });

  it('audio/pcma (A-law): decoded at the socket, encoded on the way out, every byte given back', async () => {
    await serve(new EchoHandler());
    const client = official();
    await client.opened;
    client.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcma' } }, output: { format: { type: 'audio/pcma' } } } } });
    await client.until(() => client.of('session.updated').length === 1, 'session.updated');
    const said = Buffer.from(alawEncode(tone(400, 8000, 440)));
    for (let i = 0; i < 20; i++) client.send({ type: 'input_audio_buffer.append', audio: said.subarray(i * 160, (i + 1) * 160).toString('base64') });
    await client.until(() => client.audio().length >= said.length, 'the echo');
    expect(client.audio().equals(said)).to.equal(true);
  });

  it('ReplyOnPause behind it: speech_started, speech_stopped and committed from its detector, then the reply as a response', async () => {
    await serve(new ReplyOnPause(async function* () {
      yield { encoding: 'pcm16', sampleRate: 16000, samples: tone(300, 16000, 660) };
    }, { detector: new EnergyDetector() }));
    const client = official();
    await client.opened;
    client.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 24000 } } } } });
    const speech = bytesOf(new Int16Array([...new Int16Array(24 * 300), ...tone(800, 24000, 300), ...new Int16Array(24 * 1000)]));
    await sendPaced(speech.length / 960, (i) => client.send({ type: 'input_audio_buffer.append', audio: speech.subarray(i * 960, (i + 1) * 960).toString('base64') }), 2);
    await client.until(() => client.of('response.done').length === 1, 'the reply, done');
    const types = client.events.map((e) => e.type).filter((t) => t.startsWith('input_audio_buffer.') || t.startsWith('response.created') || t === 'response.done');
    expect(types).to.deep.equal(['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'response.created', 'response.done']);
    const started = client.of('input_audio_buffer.speech_started')[0]!;
    const stopped = client.of('input_audio_buffer.speech_stopped')[0]!;
    expect(stopped.item_id).to.equal(started.item_id);
    expect(client.of('input_audio_buffer.committed')[0]!.item_id).to.equal(started.item_id);
    expect(started.audio_start_ms).to.be.within(300, 700);
    expect(stopped.audio_end_ms).to.be.within(1100, 2100);
    expect(client.audio().length / 48, 'ms of reply at 24 kHz').to.be.within(290, 330);
  });

  it('response.cancel cuts the handler\'s audio: response.done cancelled; a cancel with nothing in flight is an error event', async () => {
    const long = Object.assign((ctx: SessionContext) => ctx.send({ encoding: 'pcm16', sampleRate: 24000, samples: tone(3000, 24000, 440) }), { inputFormat: 'native' as const });
    await serve(long);
    const client = official();
    await client.opened;
    // A client is let in with its first event (a silent connection holds no place).
    client.send({ type: 'session.update', session: { type: 'realtime' } });
    await client.until(() => client.of('response.output_audio.delta').length >= 10, 'the handler talking');
    client.send({ type: 'response.cancel' });
    await client.until(() => client.of('response.done').length === 1, 'response.done');
    expect(client.of('response.done')[0]!.response).to.deep.include({ status: 'cancelled', status_details: { type: 'cancelled', reason: 'client_cancelled' } });
    const deltas = client.of('response.output_audio.delta').length;
    await sleep(200);
    expect(client.of('response.output_audio.delta').length).to.equal(deltas, 'no audio after the cancel');
    expect(client.audio().length / 48).to.be.below(1500);
    client.send({ type: 'response.cancel', event_id: 'my_cancel' });
    await client.until(() => client.errors.length === 1, 'an error');
    expect(client.of('error')[0]!.error).to.include({ code: 'response_cancel_not_active', event_id: 'my_cancel' });
    expect(client.rt.socket.readyState).to.equal(WebSocket.OPEN);
  });

  it('answers what it does not support with an error event and goes on; malformed input gets an error event and a close', async () => {
    await serve(new EchoHandler());
    const client = raw();
    await client.opened;
    client.send({ type: 'conversation.item.create', event_id: 'evt_1', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } });
    client.send({ type: 'input_audio_buffer.commit', event_id: 'evt_2' });
    await client.until(() => client.events.filter((e) => e.type === 'error').length === 2, 'two error events');
    const [unsupported, empty] = client.events.filter((e) => e.type === 'error').map((e) => e.error);
    expect(unsupported).to.include({ type: 'invalid_request_error', code: 'unsupported_event', event_id: 'evt_1' });
    expect(empty).to.include({ code: 'input_audio_buffer_commit_empty', event_id: 'evt_2' });

    const cases: [unknown, number][] = [
      ['not json', 1007],
      [{ type: 'input_audio_buffer.append', audio: 'a!b=' }, 1007],
      [{ type: 'session.update', session: { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } }, 1007],
      [{ type: 'session.update', session: { input_audio_format: 'opus' } }, 1007],
      [{ no: 'type' }, 1002],
    ];
    for (const [event, code] of cases) {
      const bad = raw();
      await bad.opened;
      await bad.until(() => bad.events.length > 0, 'session.created');
      bad.send(event);
      const closed = await bad.closed;
      expect(closed.code, JSON.stringify(event)).to.equal(code);
      const error = bad.events.find((e) => e.type === 'error');
      expect(error?.error.message, JSON.stringify(event)).to.be.a('string').and.not.equal('');
    }
    const binary = raw();
    await binary.opened;
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).to.equal(1003);
    const huge = raw();
    await huge.opened;
    huge.send({ type: 'input_audio_buffer.append', audio: 'A'.repeat(70_000) });
    expect((await huge.closed).code).to.equal(1009);
    client.close();
  });

  it('gives its place back when the client leaves before its session opens', async () => {
    await serve(new EchoHandler(), { concurrencyLimit: 1 });
    for (let i = 0; i < 3; i++) {
      const early = raw();
      await early.opened;
      await early.until(() => early.events.some((e) => e.type === 'session.created'), 'session.created');
      early.close();
      await early.closed;
    }
    const last = raw();
    await last.opened;
    last.send({ type: 'input_audio_buffer.append', audio: bytesOf(tone(100, 24000, 440)).toString('base64') });
    await last.until(() => last.events.some((e) => e.type === 'callstream.session.opened'), 'a session under the limit');
    expect(sessions).to.have.length(1);
  });

  it('is a session like the others: the concurrency limit (an error event, then 1013), authorize with the client\'s key, recording', async () => {
    const recordings = path.join(dir, 'recordings');
    await serve(new EchoHandler(), { concurrencyLimit: 1, authorize: (ctx) => ctx.get('authorization') === `Bearer ${KEY}`, record: { directory: recordings } });
    const refused = official({ apiKey: 'sk-wrong' });
    const refusal = await refused.opened.then(() => 'opened', (error: Error) => error.message);
    expect(refusal).to.equal('upgrade refused: HTTP 401');

    const first = official();
    await first.opened;
    first.send({ type: 'input_audio_buffer.append', audio: bytesOf(tone(200, 24000, 440)).toString('base64') });
    await first.until(() => first.of('callstream.session.opened').length === 1, 'the session open');
    const second = official();
    await second.until(() => second.of('session.created').length === 1, 'session.created (it holds no place yet)');
    second.send({ type: 'session.update', session: { type: 'realtime' } });
    await second.until(() => second.errors.length > 0, 'the refusal');
    expect(second.of('error')[0]!.error).to.include({ code: 'concurrency_limit_reached' });
    expect((await second.closed).code).to.equal(1013);

    await first.until(() => first.audio().length > 0, 'the echo');
    first.close();
    await sessions[0]!.ended;
    await sessions[0]!.recording!.finished;
    const file = sessions[0]!.recording!.file;
    expect(existsSync(file) && statSync(file).size > 44, 'a WAV with audio').to.equal(true);
  });
});
