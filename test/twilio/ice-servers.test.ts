import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { ManualClock } from '../../src/clock.js';
import type { TwilioClient } from '../../src/twilio/client.js';
import { twilioIceServers, twilioRtcConfiguration } from '../../src/twilio/ice-servers.js';
import { type Coturn, startCoturn } from '../support/coturn.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';

describe('twilio: TURN relays from the Network Traversal Service', function () {
  this.timeout(30000);
  let api: FakeTwilioApi;
  let client: TwilioClient;

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    client = api.client();
  });

  afterEach(() => api.close());

  it('turns a Tokens answer into an RTCConfiguration, in Twilio\'s order', async () => {
    const configuration = await twilioIceServers(client, { ttlSeconds: 600 });
    expect(configuration).to.deep.equal({
      iceServers: [
        { urls: 'stun:global.stun.twilio.com:3478' },
        { urls: 'turn:global.turn.twilio.com:3478?transport=udp', username: 'u', credential: 'c' },
      ],
    });
    const [request] = api.requestsTo('POST', '/Tokens.json');
    expect(request!.form).to.deep.equal({ Ttl: '600' });
    expect(await twilioIceServers(client, { iceTransportPolicy: 'relay' })).to.have.property('iceTransportPolicy', 'relay');
  });

  it('gives each page load credentials, reused while more than half their lifetime remains', async () => {
    const clock = new ManualClock();
    const server = await startTestServer(new EchoHandler(), { rtcConfiguration: twilioRtcConfiguration(client, { ttlSeconds: 100, clock }) });
    try {
      const load = async () => (await (await fetch(`${server.url}/webrtc/configuration`)).json()) as { iceServers: { urls: string }[] };
      expect((await load()).iceServers.map((s) => s.urls)).to.deep.equal(['stun:global.stun.twilio.com:3478', 'turn:global.turn.twilio.com:3478?transport=udp']);
      await load();
      expect(api.requestsTo('POST', '/Tokens.json')).to.have.length(1);
      clock.advance(50_000);
      await load();
      expect(api.requestsTo('POST', '/Tokens.json')).to.have.length(2);
      // A failure is not cached: the next page load asks again.
      clock.advance(50_000);
      api.failNext('POST', /Tokens\.json$/, { status: 500, code: 20500, message: 'Internal Server Error' });
      expect((await fetch(`${server.url}/webrtc/configuration`)).status).to.equal(500);
      await load();
      expect(api.requestsTo('POST', '/Tokens.json')).to.have.length(4);
    } finally {
      await server.close();
    }
  });

  describe('through a real TURN server (coturn on loopback)', () => {
    let turn: Coturn;
    let server: TestServer | undefined;
    let peer: TestPeer | undefined;

    before(async () => {
      turn = await startCoturn();
    });

    after(() => turn.stop());

    afterEach(async () => {
      await peer?.close();
      await server?.close();
    });

    it('carries a browser\'s audio through the relay and back (relay-only peer, echo)', async () => {
      api.iceServers = [
        { url: `stun:127.0.0.1:${turn.port}`, urls: `stun:127.0.0.1:${turn.port}` },
        { url: turn.url, urls: turn.url, username: turn.username, credential: turn.credential },
      ];
      server = await startTestServer(new EchoHandler(), {
        webrtc: { codec: 'pcmu' },
        rtcConfiguration: twilioRtcConfiguration(client),
        serverRtcConfiguration: await twilioIceServers(client),
      });
      // The page's configuration, as the built-in page would fetch it.
      const configuration = (await (await fetch(`${server.url}/webrtc/configuration`)).json()) as { iceServers: { urls: string; username?: string; credential?: string }[] };
      expect(configuration.iceServers[1]).to.deep.equal({ urls: turn.url, username: turn.username, credential: turn.credential });
      peer = new TestPeer(server.url, 'relay-echo', { codec: 'pcmu', iceServers: configuration.iceServers, iceTransportPolicy: 'relay' });
      await peer.connect();
      expect(peer.selectedPair()?.local, `the nominated pair uses the relay; coturn log: ${await turn.log()}`).to.equal('relay');
      const frames = Array.from({ length: 50 }, (_, i) => new Uint8Array(160).fill(0x10 + i));
      await sendPaced(frames.length, (i) => peer!.sendFrame(frames[i]!));
      await waitUntil(() => peer!.received.length >= 50, 2000, 'the echo through the relay');
      expect(Buffer.concat(peer.received.map((p) => p.payload)).subarray(0, 50 * 160).equals(Buffer.concat(frames))).to.equal(true);
    });
  });
});
