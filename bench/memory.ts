/**
 * Memory: 1000 sessions opened and closed in sequence per transport against one server process;
 * heap and RSS (after GC) and open handles before and after. Then load: 200 phone calls and 20
 * WebRTC peers for 60 s, all closed, memory and handles back to baseline.
 */
import WebSocket from 'ws';
import { MediaStreamTrack, RTCPeerConnection, useOPUS } from 'werift';
import { message, spawnProc, startServer, type BenchServer } from './children.js';
import type { BenchResult } from './report.js';

const SESSIONS = Number(process.env.MEMORY_SESSIONS ?? 1000);
const CONCURRENCY = 20;

async function socketSession(url: string, path: string, start: object, media: object): Promise<void> {
  const ws = new WebSocket(url.replace('http', 'ws') + path);
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify(start));
  for (let i = 0; i < 3; i++) ws.send(JSON.stringify(media));
  ws.send(JSON.stringify({ event: 'stop' }));
  await new Promise<void>((resolve) => ws.once('close', () => resolve()));
}

async function webrtcSession(url: string, id: string): Promise<void> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: [], iceUseIpv6: false, codecs: { audio: [useOPUS()], video: [] } });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendrecv' });
  pc.createDataChannel('text');
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(`${url}/webrtc/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sdp: pc.localDescription!.sdp, type: 'offer', webrtc_id: id }) });
  const answer = (await response.json()) as { sdp?: string };
  if (!answer.sdp) throw new Error(`offer ${id} refused (${response.status}): ${JSON.stringify(answer)}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  await pc.connectionStateChange.watch((state) => state === 'connected', 15000);
  await pc.close();
}

async function many(count: number, open: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) await open(next++);
  }));
}

/**
 * Waits until no session is left, then 3 s more (werift's timers and HTTP keep-alive sockets close
 * within 1-3 s of a peer's end), and reads memory after a GC.
 */
async function settled(server: BenchServer): Promise<{ heapMb: number; rssMb: number; resources: number; sessions: number }> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && ((await server.stats()).sessions ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const s = await server.stats();
  return { heapMb: s.memory.heapUsed / 2 ** 20, rssMb: s.memory.rss / 2 ** 20, resources: s.resources ?? 0, sessions: s.sessions ?? 0 };
}

export async function memoryScenario(): Promise<BenchResult> {
  const server = await startServer('server.ts', ['callstream', 'echo']);
  const payload = Buffer.alloc(160, 0x55).toString('base64');
  const figures: Record<string, number | string> = {};
  const baseline: Record<string, number | string> = {};
  try {
    const phone = (i: number) => socketSession(server.url, '/telephone/handler', { event: 'start', streamSid: `MZ${i}`, start: { streamSid: `MZ${i}`, callSid: `CA${i}`, customParameters: {} } }, { event: 'media', media: { payload } });
    const socket = (i: number) => socketSession(server.url, '/websocket/offer', { event: 'start', websocket_id: `ws-${i}` }, { event: 'media', media: { payload } });
    const webrtc = (i: number) => webrtcSession(server.url, `rtc-${i}`);
    // Warm up every path first, so the baseline includes what any first session loads.
    await many(30, phone);
    await many(30, socket);
    await many(10, (i) => webrtc(i + 100000));
    const start = await settled(server);
    baseline['heap / RSS after warm-up (MB)'] = `${start.heapMb.toFixed(1)} / ${start.rssMb.toFixed(1)}`;
    baseline['open handles after warm-up'] = start.resources;
    for (const [name, open] of [['telephone', phone], ['websocket', socket], ['webrtc', webrtc]] as const) {
      const before = await settled(server);
      await many(SESSIONS, open);
      const after = await settled(server);
      figures[`${name}: heap growth over ${SESSIONS} sessions (MB)`] = after.heapMb - before.heapMb;
      figures[`${name}: RSS growth (MB)`] = after.rssMb - before.rssMb;
      figures[`${name}: open handles after (before)`] = `${after.resources} (${before.resources})`;
    }
    // Load: 200 phone calls and 20 WebRTC peers for 60 s, then all closed.
    const seconds = Number(process.env.LOAD_SECONDS ?? 60);
    const beforeLoad = await settled(server);
    const calls = message<{ sent: number; received: number; late: number }>(spawnProc('load.ts', [String(server.port), '200', String(seconds)]), 'result');
    const peers = message<{ sent: number; received: number }>(spawnProc('peers.ts', [server.url, '20', String(seconds), 'opus']), 'result');
    const [callResult, peerResult] = await Promise.all([calls, peers]);
    const afterLoad = await settled(server);
    figures[`load ${seconds} s: phone frames echoed (%)`] = (callResult.received / callResult.sent) * 100;
    figures[`load ${seconds} s: phone frames > 40 ms late`] = callResult.late;
    figures[`load ${seconds} s: WebRTC packets echoed (%)`] = (peerResult.received / peerResult.sent) * 100;
    figures['load: heap after − before (MB)'] = afterLoad.heapMb - beforeLoad.heapMb;
    figures['load: RSS after − before (MB)'] = afterLoad.rssMb - beforeLoad.rssMb;
    figures['load: open handles after (before)'] = `${afterLoad.resources} (${beforeLoad.resources})`;
    figures['load: sessions left'] = afterLoad.sessions;
  } finally {
    server.stop();
  }
  return {
    title: `memory: ${SESSIONS} sessions opened and closed per transport; load: 200 phone calls + 20 WebRTC peers`,
    figures,
    baseline,
    notes: ['heap after a forced GC in the server process; RSS includes allocator caches and does not always shrink'],
  };
}
