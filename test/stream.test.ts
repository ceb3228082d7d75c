import { expect } from 'chai';
import { EchoHandler } from '../handlers/index.js';
import { Stream } from '../src/stream.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer } from './support/server.js';
import { postWebhook, sid } from './support/twilio-call.js';
import { TestPeer } from './support/webrtc-peer.js';

describe('Stream: mount, page and configuration', function () {
  this.timeout(20000);

  it('mounts every route under a prefix', async () => {
    let calls = 0;
    const server = await startTestServer(new EchoHandler(), {
      rtcConfiguration: async () => ({ iceServers: [{ urls: 'turn:turn.example.test', username: `u${++calls}`, credential: 'c' }] }),
    }, { path: '/voice/' });
    try {
      const page = await fetch(`${server.url}/voice`);
      expect(page.status).to.equal(200);
      const html = await page.text();
      expect(html).to.contain('src="/voice/static/app.js"');
      expect((await fetch(`${server.url}/voice/static/app.js`)).headers.get('content-type')).to.match(/javascript/);
      expect((await fetch(`${server.url}/voice/static/nope.js`)).status).to.equal(404);
      // Names an object has by inheritance are not files either.
      for (const name of ['constructor', '__proto__', 'toString']) expect((await fetch(`${server.url}/voice/static/${name}`)).status, name).to.equal(404);
      // The configuration function runs per request: fresh credentials each time.
      const first = (await (await fetch(`${server.url}/voice/webrtc/configuration`)).json()) as { iceServers: { username: string }[] };
      const second = (await (await fetch(`${server.url}/voice/webrtc/configuration`)).json()) as { iceServers: { username: string }[] };
      expect(first.iceServers[0]!.username).to.equal('u1');
      expect(second.iceServers[0]!.username).to.equal('u2');
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, webhookPath: '/voice/telephone/incoming', params: { CallSid: sid('CA') } });
      expect(hook.streamUrl).to.equal('wss://voice.example.test/voice/telephone/handler');
      const peer = new TestPeer(`${server.url}/voice`, 'prefixed');
      const answer = await peer.connect();
      expect(answer.type).to.equal('answer');
      await peer.close();
    } finally {
      await server.close();
    }
  });

  it('lets the page be replaced, even after mount', async () => {
    const server = await startTestServer(new EchoHandler());
    try {
      server.stream.ui = (ctx) => {
        ctx.body = 'my own page';
      };
      expect(await (await fetch(`${server.url}/`)).text()).to.equal('my own page');
    } finally {
      await server.close();
    }
  });

  it('escapes uiArgs in the page', async () => {
    const server = await startTestServer(new EchoHandler(), { uiArgs: { title: '<script>alert(1)</script>' } });
    try {
      const html = await (await fetch(`${server.url}/`)).text();
      expect(html).to.not.contain('<script>alert(1)</script>');
      expect(html).to.contain('&#60;script&#62;');
    } finally {
      await server.close();
    }
  });

  it('refuses a handler that is not one', () => {
    expect(() => new Stream(42 as never)).to.throw(/handler must be/);
  });
});
