import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';

const STREAM_URL = `${PUBLIC_URL.replace('https', 'wss')}/telephone/handler`;

/** A media stream for `callSid` that presents `token`; resolves with how the server closed it. */
async function refusal(server: TestServer, token: string, callSid: string): Promise<{ code: number; reason: string }> {
  const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: STREAM_URL, authToken: AUTH_TOKEN }, callSid);
  await call.begin({ callstreamToken: token });
  return call.closed;
}

describe('security: a media stream refusal does not tell whether a call token is real', () => {
  it("refuses another call's real token exactly as a forged one, and leaves it to its own call", async () => {
    const server = await startTestServer(new EchoHandler());
    try {
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
      const real = hook.parameters.callstreamToken!;
      const stolen = await refusal(server, real, sid('CA'));
      const forged = await refusal(server, 'f'.repeat(real.length), sid('CA'));
      expect(stolen).to.deep.equal(forged);
      expect(stolen.code).to.equal(1008);
      expect(stolen.reason).not.to.match(/another call/);

      const own = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await own.begin(hook.parameters);
      own.sendMedia(Buffer.alloc(160, 0x42));
      await own.waitFor(() => own.receivedAudio().includes(0x42), 3000, 'the own call echoes');
      own.close();
    } finally {
      await server.close();
    }
  });
});
