import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';

const STREAM_URL = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;

function webhook(server: TestServer, callSid: string) {
  return postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid, From: '+15550001111' } });
}

/** Twilio's media stream for `callSid`, started with `parameters` (the token among them). */
async function stream(server: TestServer, callSid: string, parameters: Record<string, string>, authToken: string | false = AUTH_TOKEN): Promise<TwilioMediaStream> {
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: authToken || undefined, signWith: authToken }, callSid);
  await call.begin(parameters);
  return call;
}

describe('security: a replayed signed webhook never adds a place nor a second stream', function () {
  this.timeout(15000);
  let server: TestServer;

  afterEach(async () => {
    await server.close();
  });

  it('gives the same token to a repeated webhook while its call waits for the stream, and no second place', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false });
    const callSid = sid('CA');
    const first = await webhook(server, callSid);
    expect(first.streamUrl).to.be.a('string');
    for (let i = 0; i < 4; i++) {
      const again = await webhook(server, callSid);
      expect(again.parameters.callstreamToken, `replay ${i + 1}`).to.equal(first.parameters.callstreamToken);
    }
    expect((await server.stream.status()).reserved).to.equal(1);

    const call = await stream(server, callSid, first.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1 || !call.isOpen, 3000, 'the stream to start');
    expect((await server.stream.status())).to.include({ total: 1, reserved: 1 });

    // Replayed once the stream is live: refused, still one place.
    const late = await webhook(server, callSid);
    expect(late.rejected, late.body).to.equal(true);
    expect(late.streamUrl).to.equal(undefined);
    expect((await server.stream.status()).reserved).to.equal(1);
    call.close();
    await call.closed;
  });

  it('refuses a second media stream for a CallSid whose stream is live (no token needed without an auth token)', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false, twilioAuthToken: undefined });
    server.stream.setTwilioAuthToken('');
    const callSid = sid('CA');
    const first = await stream(server, callSid, {}, false);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the first stream');
    const second = await stream(server, callSid, {}, false);
    const closed = await second.closed;
    expect(closed.code).to.equal(1008);
    expect((await server.stream.status())).to.include({ total: 1, reserved: 1 });
    expect(first.isOpen).to.equal(true);
    first.close();
    await first.closed;
  });

  it('issues a new token for the same CallSid once its stream has ended (a <Redirect> back to the webhook)', async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 3, rateLimit: false });
    const callSid = sid('CA');
    const first = await webhook(server, callSid);
    const call = await stream(server, callSid, first.parameters);
    await waitUntil(async () => (await server.stream.status()).active.telephone === 1, 3000, 'the stream');
    call.sendStop();
    await call.closed;
    const again = await webhook(server, callSid);
    expect(again.streamUrl).to.be.a('string');
    expect(again.parameters.callstreamToken).to.not.equal(first.parameters.callstreamToken);
  });
});
