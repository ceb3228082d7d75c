import { expect } from 'chai';
import fc from 'fast-check';
import twilio from 'twilio';
import { EchoHandler } from '../../handlers/index.js';
import type { Session } from '../../src/session/session.js';
import { CrashWatch, candidateInit, fuzzRuns, deepNesting, hugeString, junkText, loopbackOnly, mangledSdp, randomBytes, truncated, wrongType } from '../support/fuzz.js';
import { HealthyCall } from '../support/healthy-call.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';

const counts = tally('fuzzing: HTTP');
const MAX_BODY = 64 * 1024;

interface Answer {
  status: number;
  type: string;
  text: string;
}

async function post(url: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers, body: body as BodyInit });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** A clear error: a 4xx with a JSON body naming the error and saying what is wrong. */
function expectClearError(answer: Answer, allowed: number[]): void {
  expect(allowed, `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`).to.include(answer.status);
  expect(answer.type).to.match(/json/);
  const body = JSON.parse(answer.text) as { error?: unknown; message?: unknown };
  expect(body.error).to.be.a('string');
  expect(body.message).to.be.a('string').and.not.equal('');
}

describe('reliability: fuzzing the HTTP routes (fast-check)', function () {
  this.timeout(120000);
  reportAfter('fuzzing: HTTP', counts);
  let server: TestServer;
  let healthy: HealthyCall;
  let phoneSession: Session;
  let browser: TestPeer;
  let template: string;
  const crashes = new CrashWatch();

  before(async () => {
    crashes.install();
    server = await startTestServer(new EchoHandler(), {
      rateLimit: false,
      additionalInputs: [
        { name: 'name', type: 'text', maxLength: 20 },
        { name: 'volume', type: 'slider', minimum: 0, maximum: 10 },
        { name: 'voice', type: 'select', choices: ['alto', 'bass'] },
      ],
      telephone: { connectTimeoutMs: 2000 },
      webrtc: { connectTimeoutMs: 2000, inactivityTimeoutMs: 0 },
    });
    const opened = new Promise<Session>((resolve) => server.stream.once('session', resolve));
    healthy = await HealthyCall.dial(server);
    phoneSession = await opened;
    // A live browser peer, for candidates trickled to a connection that exists.
    browser = new TestPeer(server.url, 'fuzz-live-peer');
    await browser.connect();
    const probe = new TestPeer(server.url, 'template');
    await probe.pc.setLocalDescription(await probe.pc.createOffer());
    template = loopbackOnly(probe.pc.localDescription!.sdp);
    await probe.close();
  });

  after(async () => {
    await healthy?.hangUp();
    await browser?.close();
    await server?.close();
    crashes.uninstall();
  });

  afterEach(() => {
    expect(crashes.rejections, 'unhandled rejections').to.deep.equal([]);
  });

  it('POST /webrtc/offer: bytes, truncated JSON, wrong types, huge and deep bodies, mangled SDP, bogus candidates', async () => {
    const from = performance.now();
    const validOffer = JSON.stringify({ type: 'offer', webrtc_id: 'x', sdp: template });
    let n = 0;
    const body = fc.oneof(
      randomBytes,
      truncated(validOffer),
      junkText,
      deepNesting,
      hugeString.map((s) => JSON.stringify({ type: 'offer', webrtc_id: 'huge', sdp: `v=0\r\nm=audio ${s}` })),
      fc.record({ type: fc.oneof(fc.constantFrom('offer', 'ice-candidate', 'answer'), wrongType), webrtc_id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,130}$/), wrongType), sdp: fc.oneof(junkText, wrongType), candidate: wrongType }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      { weight: 4, arbitrary: mangledSdp(template).map((sdp) => JSON.stringify({ type: 'offer', webrtc_id: `fuzz-${n}`, sdp })) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('fuzz-live-peer', 'nobody-yet', 'template'), candidateInit).map(([id, candidate]) => JSON.stringify({ type: 'ice-candidate', webrtc_id: id, candidate })) },
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), async (payload, type) => {
        n++;
        count(counts, 'cases run');
        const answer = await post(`${server.url}/webrtc/offer`, payload, { 'Content-Type': type });
        if (answer.status === 200) {
          const json = JSON.parse(answer.text) as { type?: string; status?: string };
          expect(json.type === 'answer' || json.status === 'failed' || json.status === 'success', answer.text.slice(0, 200)).to.equal(true);
          if (json.type === 'answer') count(counts, 'mangled offers answered');
        } else {
          expectClearError(answer, [400, 413]);
        }
      }),
      { numRuns: fuzzRuns(150) },
    );
    expect(browser.pc.connectionState, 'the live browser peer survived the candidates').to.equal('connected');
    await healthy.expectAlive(from);
  });

  it('POST /input_hook: bytes, truncated JSON, wrong types, huge and deep bodies, with and without the secret', async () => {
    const from = performance.now();
    const body = fc.oneof(
      randomBytes,
      truncated(JSON.stringify({ webrtc_id: phoneSession.id, name: 'Ada', volume: 3 })),
      deepNesting,
      hugeString.map((s) => JSON.stringify({ webrtc_id: phoneSession.id, name: s })),
      fc
        .record(
          {
            webrtc_id: fc.oneof(fc.constant(phoneSession.id), fc.string({ maxLength: 200 }), wrongType),
            name: fc.oneof(junkText, wrongType),
            volume: fc.oneof(fc.double(), wrongType),
            voice: fc.oneof(fc.constantFrom('alto', 'bass', 'tenor'), wrongType),
            __proto__: wrongType,
            constructor: wrongType,
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    const secret = fc.option(fc.constantFrom(phoneSession.secret, 'wrong', ''), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(body, secret, async (payload, given) => {
        count(counts, 'cases run');
        const answer = await post(`${server.url}/input_hook`, payload, { 'Content-Type': 'application/json', ...(given === undefined ? {} : { 'X-Callstream-Secret': given }) });
        if (answer.status === 200) expect(given).to.equal(phoneSession.secret);
        else if (answer.status === 422) expect(JSON.parse(answer.text)).to.have.property('reasons').that.is.an('array');
        else expectClearError(answer, [400, 403, 404, 413]);
      }),
      { numRuns: fuzzRuns(100) },
    );
    expect(Object.getPrototypeOf(phoneSession.inputs)).to.equal(Object.prototype);
    await healthy.expectAlive(from);
  });

  it('GET|POST /telephone/incoming: random forms, bytes and huge values, signed or not', async () => {
    const from = performance.now();
    const form = fc.oneof(
      fc.dictionary(fc.oneof(fc.constantFrom('CallSid', 'AccountSid', 'From', 'To', 'Direction', 'CallerName', '__proto__', 'callstreamToken'), fc.string({ maxLength: 30 })), fc.string({ unit: 'binary', maxLength: 300 }), { maxKeys: 20 }),
      hugeString.map((s) => ({ CallSid: 'CA1', From: s })),
    );
    const raw = fc.option(fc.oneof(randomBytes, junkText.map((t) => Buffer.from(t))), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(form, raw, fc.constantFrom('POST', 'GET'), fc.constantFrom('valid', 'none', 'wrong'), async (params, rawBody, method, sign) => {
        count(counts, 'cases run');
        const body = method === 'POST' ? (rawBody ?? Buffer.from(new URLSearchParams(params).toString())) : undefined;
        const seen = body ? Object.fromEntries(new URLSearchParams(body.toString('utf8'))) : {};
        const search = new URLSearchParams(params).toString();
        const query = method === 'GET' && search ? `?${search}` : ''; // fetch drops a bare "?
        const headers: Record<string, string> = {};
        if (sign !== 'none') {
          headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(sign === 'valid' ? AUTH_TOKEN : 'wrong', `${PUBLIC_URL}/telephone/incoming${query}`, seen);
        }
        if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
        const response = await fetch(`${server.url}/telephone/incoming${query}`, { method, headers, body: body as BodyInit | undefined });
        const text = await response.text();
        const tooLarge = (body?.length ?? 0) > MAX_BODY;
        if (tooLarge) expectClearError({ status: response.status, type: response.headers.get('content-type') ?? '', text }, [413]);
        else if (response.status === 431) expect(query.length, "Node's header size limit").to.be.above(8_000);
        else if (sign !== 'valid') expect(response.status, text).to.equal(403);
        else {
          expect(response.status, text).to.equal(200);
          expect(text).to.match(/^<\?xml.*<Response>.*<\/Response>$/s);
        }
      }),
      { numRuns: fuzzRuns(120) },
    );
    await healthy.expectAlive(from);
  });

  it('frees every place once the fuzzed offers and webhooks time out', async () => {
    // Fuzzed webhooks reserved places (2 s) and answered offers opened peers that never connect (2 s).
    await waitUntil(async () => (await server.stream.status()).reserved! <= 2, 6000, 'places freed').catch(() => undefined); // the expectation says what is left
    expect((await (await server.stream.status())).reserved, 'the healthy call and the live browser peer only').to.equal(2);
    count(counts, 'sessions survived', 2);
    await healthy.expectAlive(performance.now() - 1000);
  });
});
