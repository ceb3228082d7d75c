import { expect } from 'chai';
import type { FakeLocaltunnelServer } from './localtunnel-server.js';
import { postWebhook, sid, TwilioMediaStream } from './twilio-call.js';

/** Plays a whole phone call through the local tunnel server (webhook, then media) and expects its echo. */
export async function expectEchoThroughTunnel(lt: FakeLocaltunnelServer, publicUrl: string, authToken: string | undefined): Promise<void> {
  const host = lt.hostOf(publicUrl);
  const callSid = sid('CA');
  const hook = await postWebhook({ baseUrl: lt.url, host, publicUrl, authToken, params: { CallSid: callSid, From: '+15550100' } });
  expect(hook.status, hook.body).to.equal(200);
  const call = new TwilioMediaStream({ baseUrl: lt.url, host, streamUrl: hook.streamUrl!, authToken }, callSid);
  await call.begin(hook.parameters);
  for (let i = 0; i < 10; i++) call.sendMedia(Buffer.alloc(160, 0x30 + i));
  await call.waitFor(() => call.receivedAudio().length >= 1600, 5000, 'echo through the tunnel');
  call.close();
  await call.closed;
}
