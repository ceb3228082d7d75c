import { expect } from 'chai';
import fc from 'fast-check';
import twilio from 'twilio';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { CrashWatch, fuzzRuns, hugeString, junkText, randomBytes, token, wrongType } from '../support/fuzz.js';
import { HealthyCall } from '../support/healthy-call.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';

const counts = tally('fuzzing: WebSockets');

/** Close codes that say what went wrong (RFC 6455); 1006 (dropped without a close frame) is not one. */
const CLEAR_CODES = [1000, 1002, 1003, 1007, 1008, 1009, 1013];
/** ws terminates a client with this many protocol pings whose pongs it has not yet taken (a ping flood). */
const PING_FLOOD = 60;

/** Checks how the server ended a case: a clear code, or a cut TCP connection after a ping flood. */
function expectClearEnd(outcome: number | 'open', steps: Step[]): void {
  if (outcome === 'open') return;
  const protocolPings = steps.reduce((n, s) => n + (s.kind === 'pings' && !s.json ? s.n : 0), 0);
  if (outcome === 1006 && protocolPings >= PING_FLOOD) {
    count(counts, 'ping floods cut');
    return;
  }
  expect(CLEAR_CODES, `close code ${outcome}`).to.include(outcome);
}

/** One thing a fuzzed client does on its socket. */
type Step =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Buffer }
  | { kind: 'json'; value: unknown }
  | { kind: 'start'; token: 'valid' | 'forged' | 'none'; extra: unknown }
  | { kind: 'pings'; n: number; json: boolean };

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('base64')),
  junkText,
  hugeString,
  wrongType,
);

const base64Audio = fc.uint8Array({ minLength: 0, maxLength: 640 }).map((b) => Buffer.from(b).toString('base64'));

const commonSteps: fc.Arbitrary<Step>[] = [
  junkText.map((text) => ({ kind: 'text' as const, text })),
  randomBytes.map((bytes) => ({ kind: 'binary' as const, bytes })),
  hugeString.map((text) => ({ kind: 'text' as const, text: JSON.stringify({ event: 'media', media: { payload: text } }) })),
  wrongType.map((value) => ({ kind: 'json' as const, value })),
  fc.tuple(fc.integer({ min: 1, max: 300 }), fc.boolean()).map(([n, json]) => ({ kind: 'pings' as const, n, json })),
];

/** Twilio's events, out of order and with wrong fields. */
const telephoneStep: fc.Arbitrary<Step> = fc.oneof(
  ...commonSteps,
  fc.record({ kind: fc.constant('start' as const), token: fc.constantFrom('valid' as const, 'forged' as const, 'none' as const), extra: fc.oneof(fc.constant(undefined), wrongType) }),
  fc.oneof(fc.constant({ event: 'media', media: { track: 'inbound' } }), base64Audio.map((p) => ({ event: 'media', media: { track: 'inbound', payload: p } })), fc.tuple(payload, fc.constantFrom('inbound', 'outbound', 3)).map(([p, track]) => ({ event: 'media', media: { payload: p, track } }))).map((value) => ({ kind: 'json' as const, value })),
  fc.record({ event: fc.constantFrom('mark', 'dtmf', 'stop', 'connected', 'clear', 'bogus', ''), mark: fc.oneof(fc.record({ name: fc.oneof(token, wrongType) }), wrongType), dtmf: fc.oneof(fc.record({ digit: fc.oneof(fc.constantFrom('1', '#', 'D'), token, wrongType) }), wrongType), streamSid: fc.oneof(token, wrongType) }, { requiredKeys: ['event'] }).map((value) => ({ kind: 'json' as const, value })),
);

/** FastRTC's WebSocket events, out of order and with wrong fields. */
const websocketStep: fc.Arbitrary<Step> = fc.oneof(
  ...commonSteps,
  fc
    .record(
      {
        event: fc.constant('start'),
        websocket_id: fc.oneof(fc.uuid(), token, wrongType),
        mediaFormat: fc.oneof(
          fc.record({ encoding: fc.oneof(fc.constantFrom('audio/x-mulaw', 'audio/x-pcm16le', 'audio/L16', 'audio/opus'), wrongType), sampleRate: fc.oneof(fc.constantFrom(8000, 16000, 48000, 0, -1, 1e9), wrongType), channels: fc.oneof(fc.constantFrom(1, 2, 0), wrongType) }, { requiredKeys: [] }),
          wrongType,
        ),
        inlineOutputs: wrongType,
      },
      { requiredKeys: ['event', 'websocket_id'] },
    )
    .map((value) => ({ kind: 'json' as const, value })),
  fc.oneof(base64Audio.map((p) => ({ event: 'media', media: { payload: p } })), payload.map((p) => ({ event: 'media', media: { payload: p } })), fc.constant({ event: 'media' })).map((value) => ({ kind: 'json' as const, value })),
  fc.record({ event: fc.constantFrom('stop', 'ping', 'dtmf', 'pong', 'bogus', ''), dtmf: fc.oneof(fc.record({ digit: fc.oneof(fc.constantFrom('1', '*', 'A'), token, wrongType) }), wrongType) }, { requiredKeys: ['event'] }).map((value) => ({ kind: 'json' as const, value })),
);

/**
 * Plays `steps` on an open socket, then a protocol ping: its pong proves the server handled every
 * frame before it and is still answering. Resolves with the server's close code, or 'open'.
 */
async function play(ws: WebSocket, steps: Step[], startMessage: (step: Extract<Step, { kind: 'start' }>) => unknown): Promise<number | 'open'> {
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const ignore = () => {};
  for (const step of steps) {
    if (ws.readyState !== WebSocket.OPEN) break;
    switch (step.kind) {
      case 'text':
        ws.send(step.text, ignore);
        break;
      case 'binary':
        ws.send(step.bytes, { binary: true }, ignore);
        break;
      case 'json':
        ws.send(JSON.stringify(step.value) ?? 'undefined', ignore);
        break;
      case 'start':
        ws.send(JSON.stringify(startMessage(step)), ignore);
        break;
      case 'pings':
        for (let i = 0; i < step.n; i++) {
          if (step.json) ws.send('{"event":"ping"}', ignore);
          else ws.ping(undefined, undefined, ignore);
        }
        break;
    }
  }
  const ponged = new Promise<'open'>((resolve) => ws.once('pong', () => resolve('open')));
  if (ws.readyState === WebSocket.OPEN) ws.ping(undefined, undefined, ignore);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no answer within 5 s'>((resolve) => (timer = setTimeout(() => resolve('no answer within 5 s'), 5000)));
  const outcome = await Promise.race([closed, ponged, timeout]);
  clearTimeout(timer);
  if (outcome === 'no answer within 5 s') throw new Error('the server neither answered a ping nor closed the socket');
  if (outcome === 'open') {
    ws.close(1000);
    await closed;
  }
  return outcome;
}

describe('reliability: fuzzing the WebSocket protocols (fast-check)', function () {
  this.timeout(120000);
  reportAfter('fuzzing: WebSockets', counts);
  let server: TestServer;
  let healthy: HealthyCall;
  const crashes = new CrashWatch();

  before(async () => {
    crashes.install();
    server = await startTestServer(new EchoHandler(), {
      rateLimit: false,
      telephone: { startTimeoutMs: 1000, connectTimeoutMs: 2000 },
      websocket: { startTimeoutMs: 1000 },
    });
    healthy = await HealthyCall.dial(server);
  });

  after(async () => {
    await healthy?.hangUp();
    await server?.close();
    crashes.uninstall();
  });

  afterEach(async () => {
    expect(crashes.rejections, 'unhandled rejections').to.deep.equal([]);
    // Every fuzzed session ended; only the healthy call holds a place.
    await waitUntil(async () => {
      const status = await server.stream.status();
      return status.total <= 1 && status.reserved! <= 1;
    }, 3000, 'the fuzzed sessions ended').catch(() => undefined); // the expectations say what is left
    expect((await server.stream.status()).total, 'live sessions after the run').to.equal(1);
    expect((await (await server.stream.status())).reserved, 'places held after the run').to.equal(1);
  });

  it('WS /telephone/handler: random bytes, binary frames, wrong types, ping floods, events out of order', async () => {
    const from = performance.now();
    const codes = new Map<number | 'open', number>();
    await fc.assert(
      fc.asyncProperty(fc.array(telephoneStep, { minLength: 1, maxLength: 12 }), async (steps) => {
        count(counts, 'cases run');
        const callSid = sid('CA');
        let callToken: string | undefined;
        if (steps.some((s) => s.kind === 'start' && s.token === 'valid')) {
          const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
          callToken = hook.parameters.callstreamToken;
        }
        const streamUrl = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/telephone/handler`, {
          headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, streamUrl, {}) },
        });
        ws.on('error', () => {});
        await new Promise((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
        });
        const streamSid = sid('MZ');
        const outcome = await play(ws, steps, (step) => ({
          event: 'start',
          streamSid,
          start: {
            streamSid,
            callSid,
            accountSid: sid('AC'),
            customParameters: step.token === 'valid' ? { callstreamToken: callToken } : step.token === 'forged' ? { callstreamToken: 'forged' } : {},
            ...(typeof step.extra === 'object' && step.extra !== null ? step.extra : {}),
          },
        }));
        codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
        expectClearEnd(outcome, steps);
      }),
      { numRuns: fuzzRuns(80) },
    );
    await healthy.expectAlive(from);
    expect(codes.size, `outcomes: ${JSON.stringify([...codes])}`).to.be.greaterThan(3);
  });

  it('WS /websocket/offer: random bytes, binary frames, wrong types, ping floods, events out of order', async () => {
    const from = performance.now();
    const codes = new Map<number | 'open', number>();
    await fc.assert(
      fc.asyncProperty(fc.array(websocketStep, { minLength: 1, maxLength: 12 }), async (steps) => {
        count(counts, 'cases run');
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/websocket/offer`);
        ws.on('error', () => {});
        await new Promise((resolve) => ws.once('open', resolve));
        const outcome = await play(ws, steps, () => ({ event: 'start', websocket_id: `fuzz-${Math.random().toString(36).slice(2)}` }));
        codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
        expectClearEnd(outcome, steps);
      }),
      { numRuns: fuzzRuns(80) },
    );
    await healthy.expectAlive(from);
    expect(codes.size, `outcomes: ${JSON.stringify([...codes])}`).to.be.greaterThan(3);
  });
});
