import { expect } from 'chai';
import { mulawDecode } from '../src/audio/mulaw.js';
import type { SessionContext, StreamHandler } from '../src/session/handler.js';
import { expectRejection } from './support/assert.js';
import { decodeDtmf } from './support/goertzel.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer } from './support/server.js';
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
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
      const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await call.begin(hook.parameters);
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
});
