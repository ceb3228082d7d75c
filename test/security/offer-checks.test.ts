import { Writable } from 'node:stream';
import { expect } from 'chai';
import { MediaStreamTrack, RTCPeerConnection, useOPUS } from 'werift';
import { EchoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import { offerSdpProblem } from '../../src/transports/webrtc/offer-sdp.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

/** Colon-separated hex of `bytes` bytes. */
const hex = (bytes: number) => Array.from({ length: bytes }, (_, i) => ((i * 37 + 11) % 256).toString(16).padStart(2, '0').toUpperCase()).join(':');

describe('security: offers without ICE credentials or a DTLS fingerprint', function () {
  this.timeout(15000);
  let server: TestServer;
  let pc: RTCPeerConnection;
  let sdp: string;
  /** Every log line the server writes, at debug and above. */
  const logged: Record<string, unknown>[] = [];

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    server = await startTestServer(new EchoHandler(), { rateLimit: false, logger: createLogger({ level: 'debug', destination }) });
    pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', codecs: { audio: [useOPUS()], video: [] }, iceUseIpv6: false });
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
    await pc.setLocalDescription(await pc.createOffer());
    sdp = pc.localDescription!.sdp;
  });

  // A test that fails leaves its session behind: ended here, so the next test starts with every place free.
  afterEach(async () => {
    for (const session of server.stream.directory.sessions()) session.end('ended_by_server');
    await waitUntil(async () => (await server.stream.status()).reserved === 0, 3000, 'every place free');
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

  const fingerprint = (line: string) => (offer: string) => offer.replace(/^a=fingerprint:.*$/m, line);
  const badOffers: [string, (offer: string) => string, RegExp][] = [
    ['a fingerprint that is not hex (sha-256 zz)', fingerprint('a=fingerprint:sha-256 zz'), /sha-256 fingerprint must be 32 bytes/],
    ['a sha-256 fingerprint of 20 bytes', fingerprint(`a=fingerprint:sha-256 ${hex(20)}`), /sha-256 fingerprint must be 32 bytes/],
    ['an md5 fingerprint', fingerprint(`a=fingerprint:md5 ${hex(16)}`), /fingerprint uses "md5"/],
    ['a fingerprint of an unknown hash', fingerprint(`a=fingerprint:sha-3 ${hex(32)}`), /fingerprint uses "sha-3"/],
    ['its only m-line disabled (port 0)', (offer) => offer.replace(/^m=audio \d+/m, 'm=audio 0'), /audio section is disabled \(port 0\)/],
    ['an RTP/AVP audio profile', (offer) => offer.replace(/^(m=audio \d+) \S+/m, '$1 RTP/AVP'), /uses RTP\/AVP/],
    ['a=candidate:garbage', (offer) => offer.replace(/^(m=audio[^\r]*\r\n)/m, '$1a=candidate:garbage\r\n'), /malformed ICE candidate/],
    // Past these checks, the WebRTC stack's own refusal (its error logged at debug, without its stack).
    ['no a=mid (which werift cannot answer)', (offer) => offer.replace(/^a=mid:.*\r\n/m, '').replace(/^a=group:BUNDLE.*\r\n/m, ''), /cannot be answered|could not be applied/],
  ];
  for (const [what, spoil, says] of badOffers) {
    it(`refuses an offer with ${what} with a clear 400, before any place is taken`, async () => {
      const spoiled = spoil(sdp);
      expect(spoiled).to.not.equal(sdp);
      const { status, body } = await post(`bad-${what.replace(/\W+/g, '-').slice(0, 60)}`, spoiled);
      expect(status).to.equal(400);
      expect(body.message).to.match(says);
      expect(await server.stream.status()).to.include({ total: 0, reserved: 0 });
    });
  }

  it('logs none of them above debug, and no stack at any level', () => {
    expect(logged.filter((line) => (line.level as number) >= 40)).to.deep.equal([]);
    expect(logged.filter((line) => JSON.stringify(line).includes('"stack"'))).to.deep.equal([]);
  });

  it('takes every fingerprint hash a DTLS stack may use, in either case', () => {
    for (const [hash, bytes] of [['sha-1', 20], ['SHA-256', 32], ['sha-384', 48], ['sha-512', 64], ['sha-224', 28]] as const) {
      expect(offerSdpProblem(fingerprint(`a=fingerprint:${hash} ${hex(bytes).toLowerCase()}`)(sdp), 'audio', false), hash).to.equal(undefined);
    }
    // A browser's mDNS and TCP candidates, and a bundled section with port 0, are offers like others.
    const mdns = sdp.replace(/^(m=audio[^\r]*\r\n)/m, '$1a=candidate:842163049 1 udp 1677729535 4f1d3a52-0c5e-4a79-9bd1-7d0b1e7d2c11.local 54400 typ host generation 0 network-cost 999\r\na=candidate:3 1 TCP 2105524479 10.0.0.1 9 typ host tcptype active\r\n');
    expect(offerSdpProblem(mdns, 'audio', false)).to.equal(undefined);
  });

  it('answers the same offer whole', async () => {
    const { body } = await post('whole', sdp);
    expect(body.status).to.not.equal('failed');
    expect((body as { type?: string }).type).to.equal('answer');
  });
});
