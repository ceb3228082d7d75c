/**
 * Video load in its own process: N werift camera peers sending a VP8 clip at 30 fps to an offer
 * route for `seconds`, counting the frames that come back. args: baseUrl peers seconds width height
 */
import { makeClip, VideoTestPeer } from '../../test/support/video.js';

const [baseUrl = '', peersArg = '3', secondsArg = '6', widthArg = '640', heightArg = '480'] = process.argv.slice(2);
const clip = makeClip({ width: Number(widthArg), height: Number(heightArg), frames: 30 });
const peers = Array.from({ length: Number(peersArg) }, (_, i) => new VideoTestPeer(baseUrl, `video-load-${process.pid}-${i}`));
await Promise.all(peers.map((p) => p.connect()));
await Promise.all(peers.map((p) => p.play(clip, 30))); // warm up
process.send!({ type: 'connected' });
const frames = Number(secondsArg) * 30;
await Promise.all(peers.map((p) => p.play(clip, frames)));
await new Promise((resolve) => setTimeout(resolve, 500));
const received = peers.reduce((n, p) => n + p.receivedFrames.length, 0);
await Promise.all(peers.map((p) => p.close()));
process.send!({ type: 'result', sent: frames * peers.length + 30 * peers.length, received });
process.disconnect();
