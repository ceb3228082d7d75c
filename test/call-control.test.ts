import { expect } from 'chai';
import { mulawDecode } from '../src/audio/mulaw.js';
import type { SessionContext, StreamHandler } from '../src/session/handler.js';
import type { Session } from '../src/session/session.js';
import { TwilioApiError } from '../src/twilio/api-error.js';
import { expectRejection } from './support/assert.js';
import { FakeTwilioApi } from './support/fake-twilio.js';
import { waitUntil } from './support/wait.js';
import { decodeDtmf } from './support/goertzel.js';
import { dialTestServer, PUBLIC_URL, startTestServer, type TestServer } from './support/server.js';
import { postWebhook, sid, TwilioMediaStream } from './support/twilio-call.js';
import { AudioSocket } from './support/ws-client.js';

describe('call control from the handler', function () {
  this.timeout(20000);

  it('sendDigits plays in-band DTMF a Goertzel detector decodes back to the same digits', async () => {
    const handler: StreamHandler = {
      inputFormat: 'native',
      startUp(ctx: SessionContext) {
        ctx.sendDigits('12#9w*0');
      },
    };
    const server = await startTestServer(handler);
    try {
      const call = await dialTestServer(server);
      const expectedBytes = (6 * 200 + 500) * 8;
      await call.waitFor(() => call.receivedAudio().length >= expectedBytes, 5000, 'the tones');
      expect(decodeDtmf(mulawDecode(call.receivedAudio()), 8000)).to.equal('12#9*0');
      call.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a bad digit string, and transfer on a WebSocket session; hangUp closes it cleanly', async () => {
    const results: string[] = [];
    const handler: StreamHandler = {
      inputFormat: 'native',
      async startUp(ctx: SessionContext) {
        try {
          ctx.sendDigits('12x');
        } catch (error) {
          results.push((error as Error).message);
        }
        await expectRejection(ctx.transfer('+15550001111'), /phone calls/).then((e) => results.push(e.message));
        await ctx.hangUp();
      },
    };
    const server = await startTestServer(handler);
    try {
      const client = new AudioSocket(server.url);
      await client.start('control');
      expect((await client.closed).code).to.equal(1000);
      expect(results[0]).to.match(/not a DTMF digit/);
      expect(results[1]).to.match(/transfer\(\) works on phone calls/);
    } finally {
      await server.close();
    }
  });

  it('hangUp({ say }) gives a WebSocket client the line in its end_stream message, then closes cleanly', async () => {
    const server = await startTestServer({ inputFormat: 'native', onDtmf: (_digit: string, ctx: SessionContext) => void ctx.hangUp({ say: 'This conference is full.' }) });
    try {
      const client = new AudioSocket(server.url);
      await client.start('hang-up-line');
      client.send({ event: 'dtmf', dtmf: { digit: '1' } });
      expect(await client.next((m) => m.type === 'end_stream')).to.deep.include({ data: 'This conference is full.' });
      expect((await client.closed).code).to.equal(1000);
    } finally {
      await server.close();
    }
  });

  describe('over Twilio\'s REST API (a fake API on loopback)', () => {
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

    /** A handler that runs `act` on the first DTMF digit it hears; failures are kept. */
    function onDigit(act: (digit: string, ctx: SessionContext) => Promise<void>, failures: Error[] = []): StreamHandler {
      return {
        inputFormat: 'native',
        onDtmf: (digit, ctx) => act(digit, ctx).catch((error: Error) => void failures.push(error)),
      };
    }

    async function serve(handler: StreamHandler, options = {}): Promise<TestServer> {
      server = await startTestServer(handler, { ...api.streamOptions(), ...options });
      api.calls.reach(PUBLIC_URL, { baseUrl: server.url });
      return server;
    }

    /** Places an outbound call that the fake answers; resolves with both ends. */
    async function answeredCall() {
      const call = await server!.stream.call({ to: '+15550002222', from: '+15550001111' });
      const callee = await api.calls.next();
      const media = await callee.answer();
      return { call, callee, media, session: await call.session };
    }

    it('hangUp() ends the call with Status=completed, and the call reports completed', async () => {
      await serve(onDigit((_, ctx) => ctx.hangUp()));
      const { call, callee, media, session } = await answeredCall();
      media.sendDtmf('5');
      expect((await session.ended).reason).to.equal('hangup');
      expect(callee.updates.map((u) => [u.path, u.form])).to.deep.equal([[`/2010-04-01/Accounts/${api.accountSid}/Calls/${call.sid}.json`, { Status: 'completed' }]]);
      expect((await call.ended).status).to.equal('completed');
      expect((await media.closed).code).to.equal(1000);
    });

    it('hangUp() of a call Twilio no longer knows (404) still ends the session; transfer() then rejects with Twilio\'s error', async () => {
      const failures: Error[] = [];
      await serve(
        onDigit(async (digit, ctx) => {
          if (digit === '1') await ctx.transfer('+15553334444');
          else await ctx.hangUp();
        }, failures),
      );
      const callSid = sid('CA');
      const sessionOpened = new Promise<Session>((resolve) => server!.stream.once('session', resolve));
      const hook = await postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, authToken: api.authToken, params: { CallSid: callSid } });
      const media = new TwilioMediaStream({ baseUrl: server!.url, streamUrl: hook.streamUrl!, authToken: api.authToken }, callSid);
      await media.begin(hook.parameters);
      const session = await sessionOpened;
      media.sendDtmf('1');
      await waitUntil(() => failures.length > 0, 3000, 'the transfer to fail');
      expect(failures).to.have.length(1);
      expect(failures[0]).to.be.instanceOf(TwilioApiError);
      expect((failures[0] as TwilioApiError).twilioCode).to.equal(20404);
      expect(session.isLive, 'a failed transfer leaves the call as it was').to.equal(true);
      media.sendDtmf('2');
      expect((await session.ended).reason).to.equal('hangup');
      expect(failures, 'the 404 of the hang-up is no failure').to.have.length(1);
      expect(api.requestsTo('POST', `/Calls/${callSid}.json`).map((r) => Object.keys(r.form))).to.deep.equal([['Twiml'], ['Status']]);
    });

    for (const [target, dial] of [
      ['+15553334444', '<Dial><Number>+15553334444</Number></Dial>'],
      ['sip:alice@example.com', '<Dial><Sip>sip:alice@example.com</Sip></Dial>'],
    ] as const) {
      it(`transfer('${target}') replaces the call's TwiML with ${dial}, and the session ends`, async () => {
        await serve(onDigit((_, ctx) => ctx.transfer(target)));
        const { callee, media, session } = await answeredCall();
        media.sendDtmf('9');
        const ended = await session.ended;
        expect(ended.reason).to.equal('hangup');
        expect(ended.message).to.equal(`Transferred to ${target}.`);
        expect(callee.updates.map((u) => u.form)).to.deep.equal([{ Twiml: `<?xml version="1.0" encoding="UTF-8"?><Response>${dial}</Response>` }]);
        await media.closed;
      });
    }

    it('hangUp({ say }) replaces the call\'s TwiML with <Say> then <Hangup>: the caller hears the line, and the session ends with it', async () => {
      await serve(onDigit((_, ctx) => ctx.hangUp({ say: 'This conference is full.' })));
      const { callee, media, session } = await answeredCall();
      media.sendDtmf('5');
      const ended = await session.ended;
      expect(ended).to.include({ reason: 'hangup', message: 'This conference is full.' });
      expect(callee.updates.map((u) => u.form)).to.deep.equal([{ Twiml: '<?xml version="1.0" encoding="UTF-8"?><Response><Say>This conference is full.</Say><Hangup/></Response>' }]);
      await media.closed;
    });

    it('telephone.twilioRecording starts a dual-channel Twilio-side recording once media flows', async () => {
      await serve({ inputFormat: 'native' }, { telephone: { twilioRecording: true } });
      const { callee, session } = await answeredCall();
      await waitUntil(() => session.facts.recordingSid !== undefined, 3000, 'the recording SID');
      expect(session.facts.recordingSid).to.match(/^RE[0-9a-f]{32}$/);
      expect(callee.recordings.map((r) => [r.path, r.form])).to.deep.equal([
        [`/2010-04-01/Accounts/${api.accountSid}/Calls/${callee.sid}/Recordings.json`, { RecordingChannels: 'dual' }],
      ]);
    });
  });
});
