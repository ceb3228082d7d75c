/**
 * WebRTC load in its own process: N werift peers (Opus or PCMU) connect to an offer route, send one
 * 20 ms packet every 20 ms each for `seconds`, and count what comes back.
 *   args: baseUrl peers seconds codec
 */
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS, usePCMU } from 'werift';
import { OpusCodec } from '../../src/audio/opus.js';

const [baseUrl = '', peersArg = '10', secondsArg = '5', codec = 'opus'] = process.argv.slice(2);
const peers = Number(peersArg);
const seconds = Number(secondsArg);

interface Peer {
  pc: RTCPeerConnection;
  track: MediaStreamTrack;
  received: number;
}

const payload = codec === 'opus'
  ? Buffer.from(new OpusCodec().encode(Int16Array.from({ length: 960 }, (_, i) => Math.round(4000 * Math.sin(i / 10)))))
  : Buffer.alloc(160, 0x55);

async function connect(index: number): Promise<Peer> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: [], iceUseIpv6: false, codecs: { audio: codec === 'opus' ? [useOPUS()] : [usePCMU()], video: [] } });
  const track = new MediaStreamTrack({ kind: 'audio' });
  const transceiver = pc.addTransceiver(track, { direction: 'sendrecv' });
  const peer: Peer = { pc, track, received: 0 };
  transceiver.onTrack.subscribe((t) => t.onReceiveRtp.subscribe(() => peer.received++));
  pc.createDataChannel('text');
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(`${baseUrl}/webrtc/offer`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'offer', webrtc_id: `load-${process.pid}-${index}` }),
  });
  const answer = (await response.json()) as { sdp: string };
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  await pc.connectionStateChange.watch((state) => state === 'connected', 30000);
  return peer;
}

const all: Peer[] = [];
for (let i = 0; i < peers; i += 10) all.push(...(await Promise.all(Array.from({ length: Math.min(10, peers - i) }, (_, k) => connect(i + k)))));
process.send!({ type: 'connected' });
const start = performance.now() + 20;
const ticks = Math.round((seconds * 1000) / 20);
let sent = 0;
for (let tick = 0; tick < ticks; tick++) {
  for (const peer of all) {
    peer.track.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: tick & 0xffff, timestamp: (tick * (codec === 'opus' ? 960 : 160)) >>> 0, payloadType: codec === 'opus' ? 111 : 0 }), payload));
    sent++;
  }
  const wait = start + (tick + 1) * 20 - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
await new Promise((resolve) => setTimeout(resolve, 500));
const received = all.reduce((n, p) => n + p.received, 0);
await Promise.all(all.map((p) => p.pc.close()));
process.send!({ type: 'result', sent, received });
process.disconnect();
