import { expect } from 'chai';
import { MediaStreamTrack, RTCPeerConnection, useOPUS } from 'werift';
import { EchoHandler } from '../../handlers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('security: offers without ICE credentials or a DTLS fingerprint', function () {
  this.timeout(15000);
  let server: TestServer;
  let pc: RTCPeerConnection;
  let sdp: string;

  before(async () => {
    server = await startTestServer(new EchoHandler(), { rateLimit: false });
    pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', codecs: { audio: [useOPUS()], video: [] }, iceUseIpv6: false });
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
    await pc.setLocalDescription(await pc.createOffer());
    sdp = pc.localDescription!.sdp;
  });

  after(async () => {
    await pc.close();
    await server.close();
  });

  const post = async (id: string, offer: string) => {
    const response = await fetch(`${server.url}/webrtc/offer`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'offer', sdp: offer, webrtc_id: id }),
    });
    return { status: response.status, body: (await response.json()) as { message?: string; status?: string } };
  };

  for (const [attribute, named] of [['a=ice-ufrag', 'a=ice-ufrag'], ['a=ice-pwd', 'a=ice-pwd'], ['a=fingerprint', 'a=fingerprint']] as const) {
    it(`refuses an offer without ${attribute} with a clear 400, and opens no session`, async () => {
      expect(sdp).to.contain(attribute);
      const stripped = sdp.split('\r\n').filter((line) => !line.startsWith(attribute)).join('\r\n');
      const { status, body } = await post(`no-${attribute.slice(2)}`, stripped);
      expect(status).to.equal(400);
      expect(body.message).to.contain(named);
      expect(body.message).to.not.match(/undefined|Cannot read|TypeError/);
      expect((await server.stream.status())).to.include({ total: 0, reserved: 0 });
    });
  }

  it('answers the same offer whole', async () => {
    const { body } = await post('whole', sdp);
    expect(body.status).to.not.equal('failed');
    expect((body as { type?: string }).type).to.equal('answer');
  });
});
