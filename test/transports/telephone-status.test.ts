import { expect } from 'chai';
import type { Session } from '../../src/session/session.js';
import type { SessionContext, StreamHandler } from '../../src/session/handler.js';
import type { CallStatusEvent, StreamStatusEvent } from '../../src/session/types.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';

describe('telephone: status callbacks (POST {path}/telephone/status)', function () {
  this.timeout(20000);
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A handler that records the call and stream status events it is told about. */
  function listening(calls: CallStatusEvent[], streams: StreamStatusEvent[]): StreamHandler {
    return {
      inputFormat: 'native',
      startUp(ctx: SessionContext) {
        ctx.on('callStatus', (event) => calls.push(event));
        ctx.on('streamStatus', (event) => streams.push(event));
      },
    };
  }

  async function liveCall(path = ''): Promise<{ call: TwilioMediaStream; session: Session }> {
    const callSid = sid('CA');
    const sessionOpened = new Promise<Session>((resolve) => server!.stream.once('session', resolve));
    const hook = await postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, webhookPath: `${path}/telephone/incoming`, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550100', Direction: 'inbound' } });
    const streamCallback = /<Stream[^>]*\sstatusCallback="([^"]*)"/.exec(hook.body)?.[1];
    expect(streamCallback, hook.body).to.equal(`${PUBLIC_URL}${path}/telephone/status`);
    expect(hook.body).to.contain('statusCallbackMethod="POST"');
    const call = new TwilioMediaStream({ baseUrl: server!.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
    await call.begin(hook.parameters);
    return { call, session: await sessionOpened };
  }

  const status = (params: Record<string, string>, options: { signWith?: string | false; path?: string } = {}) =>
    postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, webhookPath: `${options.path ?? ''}/telephone/status`, authToken: AUTH_TOKEN, signWith: options.signWith, params });

  it('refuses unsigned and forged callbacks (403) and accepts signed ones (204), even for unknown calls', async () => {
    server = await startTestServer({ inputFormat: 'native' });
    const params = { CallSid: sid('CA'), AccountSid: sid('AC'), CallStatus: 'completed', CallDuration: '12', SequenceNumber: '3' };
    expect((await status(params, { signWith: false })).status).to.equal(403);
    expect((await status(params, { signWith: 'not-the-token' })).status).to.equal(403);
    expect((await status({ ...params, CallStatus: 'busy' })).status).to.equal(204);
    const tampered = await postWebhook({ baseUrl: server.url, publicUrl: 'https://other.example.test', webhookPath: '/telephone/status', authToken: AUTH_TOKEN, params });
    expect(tampered.status, 'signed for another URL').to.equal(403);
    expect((await status({ CallSid: sid('CA'), CallStatus: 'strange' })).status, 'unknown statuses are logged and ignored').to.equal(204);
  });

  it('tells the handler about stream events and status changes, and a completed call ends its live session', async () => {
    const calls: CallStatusEvent[] = [];
    const streams: StreamStatusEvent[] = [];
    server = await startTestServer(listening(calls, streams));
    const { call, session } = await liveCall();
    expect(session.facts.callStatus).to.equal('in-progress');

    expect((await status({ CallSid: call.callSid, StreamSid: call.streamSid, StreamName: call.streamSid, StreamEvent: 'stream-started', Timestamp: '2026-01-01T00:00:00Z' })).status).to.equal(204);
    expect((await status({ CallSid: call.callSid, StreamSid: call.streamSid, StreamEvent: 'stream-error', StreamError: 'Stream - WebSocket - Protocol Error' })).status).to.equal(204);
    expect(streams.map((e) => [e.event, e.streamSid, e.error])).to.deep.equal([
      ['stream-started', call.streamSid, undefined],
      ['stream-error', call.streamSid, 'Stream - WebSocket - Protocol Error'],
    ]);
    expect(session.isLive, 'a stream error alone does not end the session').to.equal(true);

    expect((await status({ CallSid: call.callSid, CallStatus: 'completed', CallDuration: '7', SequenceNumber: '4' })).status).to.equal(204);
    const ended = await session.ended;
    expect(ended.reason).to.equal('remote_stop');
    expect(ended.message).to.equal('The call ended on Twilio\'s side (completed).');
    expect((await call.closed).code).to.equal(1000);
    expect(calls).to.have.length(1);
    expect(calls[0]).to.deep.include({ status: 'completed', durationS: 7, sequence: 4 });
    expect(calls[0]!.params.CallDuration).to.equal('7');
    expect(session.facts.callStatus).to.equal('completed');
  });

  it('works under a mount path, and leaves other calls alone', async () => {
    const calls: CallStatusEvent[] = [];
    server = await startTestServer(listening(calls, []), {}, { path: '/voice' });
    const first = await liveCall('/voice');
    const second = await liveCall('/voice');
    expect((await status({ CallSid: first.call.callSid, CallStatus: 'failed' }, { path: '/voice' })).status).to.equal(204);
    expect((await first.session.ended).message).to.contain('(failed)');
    expect(second.session.isLive).to.equal(true);
    expect((await status({ CallSid: second.call.callSid, CallStatus: 'in-progress', AnsweredBy: 'machine_start' }, { path: '/voice' })).status).to.equal(204);
    expect(second.session.isLive).to.equal(true);
    expect(second.session.facts.answeredBy).to.equal('machine_start');
    expect(calls.map((e) => e.status)).to.deep.equal(['failed', 'in-progress']);
    second.call.close();
  });
});
