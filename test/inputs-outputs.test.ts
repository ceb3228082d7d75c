import { expect } from 'chai';
import { rejection } from './support/rejection.js';
import { EchoHandler } from '../handlers/index.js';
import type { InputSpec } from '../src/inputs/spec.js';
import { AdditionalOutputs } from '../src/session/emit.js';
import type { SessionContext, StreamHandler } from '../src/session/handler.js';
import type { Session } from '../src/session/session.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from './support/server.js';
import { waitUntil } from './support/wait.js';
import { EventReader } from './support/sse.js';
import { postWebhook, sid, TwilioMediaStream } from './support/twilio-call.js';
import { TestPeer } from './support/webrtc-peer.js';
import { AudioSocket } from './support/ws-client.js';

const INPUTS: InputSpec[] = [
  { name: 'name', type: 'text', default: 'stranger', maxLength: 20 },
  { name: 'volume', type: 'slider', minimum: 0, maximum: 10, default: 5 },
  { name: 'loud', type: 'checkbox' },
  { name: 'voice', type: 'select', choices: ['alto', 'bass'] },
  { name: 'count', type: 'number', minimum: 1 },
];

/** Says hello with the latest inputs on every keypad digit, as an AdditionalOutputs. */
const greeter: StreamHandler = {
  inputFormat: 'native',
  copy: () => greeter,
  receive: (frame, ctx) => ctx.send(frame),
  onDtmf(digit: string, ctx: SessionContext) {
    ctx.send(new AdditionalOutputs(`${digit}: hello ${String(ctx.inputs.name)}`));
  },
};

function hook(server: TestServer, body: unknown, secret?: string): Promise<Response> {
  return fetch(`${server.url}/input_hook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(secret ? { 'X-Callstream-Secret': secret } : {}) },
    body: JSON.stringify(body),
  });
}

describe('additional inputs and outputs, ids and secrets', function () {
  this.timeout(30000);
  let server: TestServer;

  afterEach(async () => {
    await server?.close();
  });

  it('validates input_hook against the declaration and needs the session secret', async () => {
    server = await startTestServer(greeter, { additionalInputs: INPUTS });
    const client = new AudioSocket(server.url);
    const started = await client.start('inputs-ws');
    const { id, secret } = started.session as { id: string; secret: string };
    expect(id).to.equal('inputs-ws');

    // Without the secret, or with a wrong one: refused at once. Unknown id: the same answer (no id oracle).
    expect((await hook(server, { webrtc_id: id, name: 'x' })).status).to.equal(403);
    expect((await hook(server, { webrtc_id: id, name: 'x' }, 'wrong')).status).to.equal(403);
    expect((await hook(server, { webrtc_id: 'nobody', name: 'x' }, secret)).status).to.equal(403);
    expect((await hook(server, { name: 'x' }, secret)).status).to.equal(400);

    const bad = await hook(server, { webrtc_id: id, name: 42, volume: 11, loud: 'yes', voice: 'tenor', count: 0, colour: 'red' }, secret);
    expect(bad.status).to.equal(422);
    const reasons = ((await bad.json()) as { reasons: string[] }).reasons;
    expect(reasons).to.have.length(6);
    expect(reasons.join('\n')).to.match(/"name": must be a string/).and.match(/"volume": must be at most 10/).and.match(/"colour" is not a declared input/);

    const good = await hook(server, { webrtc_id: id, name: 'Ada', volume: 7, loud: true, voice: 'bass' }, secret);
    expect(good.status).to.equal(200);
    const session = server.stream.getSession(id)!;
    expect(session.inputs).to.deep.equal({ name: 'Ada', volume: 7, loud: true, voice: 'bass', count: undefined });
    // In code, as FastRTC's set_input.
    expect((await server.stream.setInput(id, { name: 'Grace' })).name).to.equal('Grace');
    expect(session.inputs.name).to.equal('Grace');
    expect((await rejection(server.stream.setInput(id, { name: 1 }))).message).to.match(/must be a string/);
    expect((await rejection(server.stream.setInput('nobody', { name: 'x' }))).code).to.equal('NOT_FOUND');
    client.close();
  });

  it('asks the client for inputs (send_input) and resumes when they arrive', async () => {
    let got: unknown;
    const asker: StreamHandler = {
      inputFormat: 'native',
      async startUp(ctx) {
        got = await ctx.waitForInputs();
      },
    };
    server = await startTestServer(asker, { additionalInputs: INPUTS });
    const client = new AudioSocket(server.url);
    const started = await client.start('asker');
    await client.next((m) => m.type === 'send_input');
    await hook(server, { websocket_id: 'asker', name: 'Lin' }, (started.session as { secret: string }).secret);
    await waitUntil(() => got !== undefined, 2000, 'the inputs at the handler');
    expect(got).to.deep.include({ name: 'Lin', volume: 5 });
    client.close();
  });

  it('streams outputs as SSE while a phone call and a WebRTC peer emit them, folded per session', async () => {
    const sessions: Session[] = [];
    server = await startTestServer(greeter, {
      additionalInputs: INPUTS,
      additionalOutputsHandler: (previous, line) => [...((previous as string[] | undefined) ?? []), String(line)],
    });
    server.stream.on('session', (s) => sessions.push(s));

    // A phone call: its id and secret come from the Stream's session event.
    const callSid = sid('CA');
    const webhook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
    const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: webhook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(webhook.parameters);
    await waitUntil(() => sessions.length > 0, 2000, 'the phone session');
    const phone = sessions[0]!;
    const phoneEvents = new EventReader(`${server.url}/outputs?webrtc_id=${phone.id}&secret=${phone.secret}`);

    // A browser peer: its secret comes in the answer.
    const peer = new TestPeer(server.url, 'sse-peer');
    const answer = await peer.connect();
    const peerSecret = (answer.session as { secret: string }).secret;
    const peerEvents = new EventReader(`${server.url}/outputs?webrtc_id=sse-peer`, { 'X-Callstream-Secret': peerSecret });
    await peer.waitForChannel();

    // Without the secret, the outputs are refused at once.
    const stranger = new EventReader(`${server.url}/outputs?webrtc_id=sse-peer`);
    await stranger.done;
    expect(stranger.status).to.equal(403);

    await phoneEvents.until(() => phoneEvents.status === 200);
    await peerEvents.until(() => peerEvents.status === 200);
    call.sendDtmf('1');
    call.sendDtmf('2');
    peer.sendMessage({ type: 'dtmf', data: '9' });
    await phoneEvents.until(() => phoneEvents.events.length >= 2);
    await peerEvents.until(() => peerEvents.events.length >= 1);
    expect(phoneEvents.events[1]).to.deep.equal({ event: 'output', data: { values: ['2: hello stranger'], state: ['1: hello stranger', '2: hello stranger'] } });
    expect(peerEvents.events[0]).to.deep.equal({ event: 'output', data: { values: ['9: hello stranger'], state: ['9: hello stranger'] } });
    // The peer was told on its data channel that an output is ready.
    await waitUntil(() => peer.messages.some((m) => m.type === 'fetch_output'), 2000, 'fetch_output on the data channel');

    // The feed ends with the session.
    call.sendStop();
    await phoneEvents.until(() => phoneEvents.events.some((e) => e.event === 'end'));
    await phoneEvents.done;
    peerEvents.close();
    await peer.close();
  });

  it('delivers outputs inline on the WebSocket when the client asks, with no second connection', async () => {
    server = await startTestServer(greeter);
    const client = new AudioSocket(server.url);
    await client.start('inline', { inlineOutputs: true });
    client.send({ event: 'dtmf', dtmf: { digit: '3' } });
    const output = await client.next((m) => m.type === 'output');
    expect(output.data).to.deep.equal({ values: ['3: hello undefined'], state: ['3: hello undefined'] });
    client.close();
  });

  it('guards every non-Twilio route with authorize, and reports status', async () => {
    server = await startTestServer(new EchoHandler(), {
      concurrencyLimit: 5,
      timeLimit: 60,
      authorize: (ctx) => ctx.get('authorization') === 'Bearer letmein',
    });
    const anonymous = [
      fetch(`${server.url}/`),
      fetch(`${server.url}/static/app.js`),
      fetch(`${server.url}/status`),
      fetch(`${server.url}/webrtc/configuration`),
      fetch(`${server.url}/webrtc/offer`, { method: 'POST', body: '{}' }),
      fetch(`${server.url}/input_hook`, { method: 'POST', body: '{}' }),
      fetch(`${server.url}/outputs?webrtc_id=x`),
    ];
    for (const response of await Promise.all(anonymous)) expect(response.status).to.equal(401);
    const ws = new AudioSocket(server.url);
    let refused = '';
    await ws.opened.catch((error: Error) => (refused = error.message));
    expect(refused).to.match(/401/);
    // Twilio's routes stay guarded by signatures only.
    const webhook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: sid('CA') } });
    expect(webhook.status).to.equal(200);

    const status = await fetch(`${server.url}/status`, { headers: { authorization: 'Bearer letmein' } });
    expect(await status.json()).to.deep.equal({
      active: { telephone: 0, webrtc: 0, websocket: 0 },
      total: 0,
      reserved: 1, // the phone call announced by the webhook holds a place
      reservedByTransport: { telephone: 1, webrtc: 0, websocket: 0 },
      limit: 5,
      timeLimit: 60,
      accepting: true,
      instanceId: server.stream.coordination.instanceId,
      coordination: { kind: 'memory', healthy: true },
    });
    const authorized = new AudioSocket(server.url, '/websocket/offer', { authorization: 'Bearer letmein' });
    await authorized.start('authorized');
    authorized.close();
  });
});
