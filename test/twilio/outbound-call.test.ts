import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import type { StreamOptions } from '../../src/options.js';
import type { StreamHandler } from '../../src/session/handler.js';
import { TwilioApiError } from '../../src/twilio/api-error.js';
import { CallFailedError } from '../../src/twilio/call-failed.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { rejection } from '../support/rejection.js';
import { PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';

const TO = '+15550002222';
const FROM = '+15550001111';

describe('outbound calls: stream.call() against a fake Twilio API that plays the callee', function () {
  this.timeout(20000);
  let api: FakeTwilioApi;
  let server: TestServer | undefined;

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await api.close();
  });

  async function serve(handler: StreamHandler = new EchoHandler(), options: StreamOptions = {}): Promise<TestServer> {
    server = await startTestServer(handler, { ...api.streamOptions(), ...options });
    api.calls.reach(PUBLIC_URL, { baseUrl: server.url });
    return server;
  }

  it('keeps status callbacks that arrive before the REST answer naming their call, for that call', async () => {
    const { stream } = await serve();
    let release!: () => void;
    api.replyGate = new Promise((resolve) => (release = resolve));
    const placing = stream.call({ to: TO, from: FROM, answerTimeoutMs: 3000 });
    const callee = await api.calls.next();
    await callee.busy(); // initiated, ringing, busy: all told before the call is known
    api.replyGate = undefined;
    release();
    const call = await placing;
    expect((await rejection(call.answered, CallFailedError)).reason).to.equal('busy');
    expect((await call.ended).status).to.equal('busy');
  });

  it('places the call through the signed webhook, connects its answer to the handler (echo), and reports every status', async () => {
    const { stream } = await serve();
    const call = await stream.call({ to: TO, from: FROM, timeout: 20, machineDetection: 'Enable' });
    const statuses: string[] = [];
    call.on('status', (event) => statuses.push(event.status));
    expect(call.sid).to.match(/^CA[0-9a-f]{32}$/);

    const create = api.requestsTo('POST', '/Calls.json');
    expect(create).to.have.length(1);
    expect(create[0]!.form).to.deep.include({
      To: TO,
      From: FROM,
      Url: `${PUBLIC_URL}/telephone/incoming`,
      Method: 'POST',
      StatusCallback: `${PUBLIC_URL}/telephone/status`,
      StatusCallbackMethod: 'POST',
      MachineDetection: 'Enable',
      Timeout: '20',
    });
    expect(create[0]!.formAll.StatusCallbackEvent).to.deep.equal(['initiated', 'ringing', 'answered', 'completed']);

    const callee = await api.calls.next();
    expect(callee.sid).to.equal(call.sid);
    const media = await callee.answer({ answeredBy: 'human' });
    const session = await call.session;
    await call.answered;
    expect(session.transport).to.equal('telephone');
    expect(session.facts).to.deep.include({ callSid: call.sid, direction: 'outbound-api', from: FROM, to: TO, answeredBy: 'human', callStatus: 'in-progress' });
    expect(callee.webhook!.body).to.contain(`statusCallback="${PUBLIC_URL}/telephone/status"`);
    expect(statuses).to.deep.equal(['initiated', 'ringing', 'in-progress']);
    expect(call.answeredBy).to.equal('human');

    const frames = Array.from({ length: 10 }, (_, i) => Buffer.alloc(160, 0x30 + i));
    for (const frame of frames) media.sendMedia(frame);
    await media.waitFor(() => media.receivedAudio().length >= 1600, 5000, 'the echo');
    expect(media.receivedAudio().subarray(0, 1600).equals(Buffer.concat(frames))).to.equal(true);

    await callee.hangUp();
    const end = await call.ended;
    expect(end).to.deep.include({ status: 'completed', answeredBy: 'human' });
    expect(end.error).to.equal(undefined);
    expect(end.durationS).to.be.a('number');
    expect((await session.ended).reason).to.equal('remote_stop');
    expect(callee.callbacks.map((c) => [c.params.CallStatus ?? c.params.StreamEvent, c.status])).to.deep.equal([
      ['initiated', 204],
      ['ringing', 204],
      ['in-progress', 204],
      ['stream-started', 204],
      ['stream-stopped', 204],
      ['completed', 204],
    ]);
  });

  for (const [outcome, script, message] of [
    ['busy', 'busy', /^The call to \+15550002222 was busy \(CA[0-9a-f]{32}\)\.$/],
    ['no-answer', 'noAnswer', /was not answered/],
    ['failed', 'fail', /failed: Twilio could not place it/],
  ] as const) {
    it(`rejects a ${outcome} call with a CALL_FAILED error (answered, session), and ends it`, async () => {
      const { stream } = await serve();
      const call = await stream.call({ to: TO, from: FROM });
      await (await api.calls.next())[script]();
      const error = await rejection(call.session, CallFailedError);
      expect(error.code).to.equal('CALL_FAILED');
      expect(error.reason).to.equal(outcome);
      expect(error.callSid).to.equal(call.sid);
      expect(error.message).to.match(message);
      expect(error.hint).to.be.a('string');
      expect(await rejection(call.answered, CallFailedError)).to.equal(error);
      const end = await call.ended;
      expect(end.status).to.equal(outcome);
      expect(end.error).to.equal(error);
      expect(call.isOver).to.equal(true);
      expect((await stream.status()).reserved, 'no place is held').to.equal(0);
    });
  }

  it('gives up (and hangs up) when nothing is heard in time, and hangUp() cancels a ringing call', async () => {
    const { stream } = await serve();
    const silent = await stream.call({ to: TO, from: FROM, answerTimeoutMs: 300 });
    const started = performance.now();
    const error = await rejection(silent.answered, CallFailedError);
    expect(performance.now() - started).to.be.below(3000);
    expect(error.reason).to.equal('timeout');
    expect(error.message).to.match(/got no answer nor status within 300 ms, and was hung up/);
    const end = await silent.ended;
    expect(end.error?.reason).to.equal('timeout');
    const callee = await api.calls.next();
    expect(callee.updates.map((u) => u.form)).to.deep.equal([{ Status: 'completed' }]);
    expect(callee.status).to.equal('canceled');

    const ringing = await stream.call({ to: TO, from: FROM });
    const ringingCallee = await api.calls.next();
    await ringingCallee.setStatus('ringing');
    await ringing.hangUp();
    expect(ringingCallee.updates.map((u) => u.form)).to.deep.equal([{ Status: 'completed' }]);
    expect((await rejection(ringing.session, CallFailedError)).reason).to.equal('canceled');
    expect((await ringing.ended).status).to.equal('canceled');
  });

  it('refuses clearly without credentials, a public URL or a mount, and reports Twilio\'s refusal', async () => {
    const { stream } = await serve(new EchoHandler(), { twilio: false });
    const noClient = await rejection(stream.call({ to: TO, from: FROM }));
    expect(noClient.code).to.equal('CONFIG_ERROR');
    expect(noClient.message).to.contain('needs Twilio REST credentials');
    await server!.close();
    server = undefined;

    const noUrl = await startTestServer(new EchoHandler(), { ...api.streamOptions(), publicUrl: undefined });
    try {
      noUrl.stream.setPublicUrl(undefined);
      const error = await rejection(noUrl.stream.call({ to: TO, from: FROM }));
      expect(error.message).to.contain('needs the public URL');
      expect(error.hint).to.contain('PUBLIC_URL');
    } finally {
      await noUrl.close();
    }

    server = await serve();
    api.failNext('POST', /\/Calls\.json$/, { status: 400, code: 21211, message: 'Invalid \'To\' Phone Number' });
    const refused = await rejection(server.stream.call({ to: '+1555', from: FROM }), TwilioApiError);
    expect(refused.message).to.equal('Twilio refused to place a call to +1555: Invalid \'To\' Phone Number (HTTP 400, error 21211).');
    expect(refused.twilioCode).to.equal(21211);
  });
});
