/**
 * The WebRTC baseline server: werift answering offers and sending every RTP packet straight back,
 * with no decode, no session and no pacing. Same IPC as server.ts.
 */
import { createServer } from 'node:http';
import { MediaStreamTrack, RTCPeerConnection, useOPUS, usePCMU } from 'werift';

const peers = new Set<RTCPeerConnection>();
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', async () => {
    const offer = JSON.parse(body) as { sdp: string };
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: [], iceUseIpv6: false, codecs: { audio: [useOPUS(), usePCMU()], video: [] } });
    peers.add(pc);
    const out = new MediaStreamTrack({ kind: 'audio' });
    const transceiver = pc.addTransceiver(out, { direction: 'sendrecv' });
    transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => out.writeRtp(rtp)));
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'closed' || state === 'failed') peers.delete(pc);
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'answer' }));
  });
});
server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', port: (server.address() as { port: number }).port }));
process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') process.send!({ type: 'stats', cpu: process.cpuUsage(), memory: process.memoryUsage(), inbound: [], outbound: [] });
});
process.on('disconnect', () => process.exit(0));
