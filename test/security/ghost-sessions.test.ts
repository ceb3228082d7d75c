import { expect } from 'chai';
import { MediaStreamTrack, RTCPeerConnection, useOPUS } from 'werift';
import { EchoHandler } from '../../handlers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

const CONNECT_TIMEOUT_MS = 800;

/** A real werift offer; `strip` removes its candidates and says there will be none. */
async function makeOffer(strip: boolean): Promise<{ sdp: string; pc: RTCPeerConnection }> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', codecs: { audio: [useOPUS()], video: [] }, iceUseIpv6: false });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
  await pc.setLocalDescription(await pc.createOffer());
  let sdp = pc.localDescription!.sdp;
  if (strip) {
    sdp = sdp.split('\r\n').filter((line) => !line.startsWith('a=candidate') && line !== 'a=end-of-candidates').join('\r\n');
    sdp = sdp.replace(/(m=audio[^\r]*\r\n)/, '$1a=end-of-candidates\r\n');
  }
  return { sdp, pc };
}

async function offer(server: TestServer, id: string, sdp: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/webrtc/offer`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'offer', sdp, webrtc_id: id }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('security: WebRTC sessions that never connect', function () {
  this.timeout(30000);
  let server: TestServer;

  beforeEach(async () => {
    server = await startTestServer(new EchoHandler(), { concurrencyLimit: 2, rateLimit: false, webrtc: { connectTimeoutMs: CONNECT_TIMEOUT_MS } });
  });

  afterEach(async () => {
    await server.close();
  });

  it('200 offers with no ICE candidate leave at most 2 sessions against a limit of 2, each holding a place, all gone by the connect deadline', async () => {
    const { sdp, pc } = await makeOffer(true);
    let mostSessions = 0;
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const { body } = await offer(server, `ghost-${i}`, sdp);
      if (typeof body.sdp === 'string') answered++;
      const status = (await server.stream.status());
      mostSessions = Math.max(mostSessions, status.total);
      // Every live session holds a place: the limit counts what /status shows.
      expect(status.total, `after offer ${i}`).to.be.at.most(status.reserved!);
      expect(status.reserved, `after offer ${i}`).to.be.at.most(2);
    }
    expect(mostSessions).to.be.at.most(2);
    await waitUntil(async () => (await server.stream.status()).total === 0 && (await server.stream.status()).reserved === 0, CONNECT_TIMEOUT_MS + 2000, 'every ghost gone');
    await pc.close();
    // The ids are free again.
    const again = await makeOffer(false);
    const { body } = await offer(server, 'ghost-0', again.sdp);
    expect(body.status, JSON.stringify(body).slice(0, 200)).to.not.equal('failed');
    await again.pc.close();
    void answered;
  });

  it('ends a session whose offer was answered but whose browser never connects, at the connect deadline', async () => {
    const { sdp, pc } = await makeOffer(false);
    const started = performance.now();
    const { body } = await offer(server, 'never-connects', sdp);
    expect(body.type).to.equal('answer');
    const session = server.stream.getSession('never-connects');
    expect(session, 'session opened for the answered offer').to.not.equal(undefined);
    expect((await server.stream.status()).reserved).to.equal(1);
    const stop = await session!.ended;
    const took = performance.now() - started;
    expect(stop.reason).to.equal('connect_timeout');
    expect(took).to.be.within(CONNECT_TIMEOUT_MS - 50, CONNECT_TIMEOUT_MS + 1000);
    expect((await server.stream.status())).to.include({ total: 0, reserved: 0 });
    await pc.close();
  });
});
