import { expect } from 'chai';
import type { SessionContext } from '../../src/session/handler.js';
import type { RoomCloseReason } from '../../src/session/room-access.js';
import { type ClusterKind, startCluster, type TestCluster } from '../support/cluster.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { dialTestServer, type TestServer } from '../support/server.js';
import { decodeMulaw, lastMs, mulawToneFrame, toneLevels } from '../support/tones.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, sleep, waitUntil } from '../support/wait.js';

/** Joins the room named by the call's `room` parameter (default `x`); records how rooms closed. */
function roomHandler(closed: RoomCloseReason[]) {
  const handler = (ctx: SessionContext) => {
    void ctx.join(ctx.facts.customParameters.room ?? 'x').then((room) => room.on('close', (reason) => closed.push(reason)));
  };
  handler.inputFormat = 'native' as const;
  return handler;
}

const SILENCE = new Uint8Array(160).fill(0xff);

/** Median of a list. */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/**
 * One way's latency, caller to caller: `from` sends silence with tone bursts, `to` notes when the
 * first frame of each burst arrives. Returns the delays (ms), one per burst.
 */
async function onsetDelays(from: TwilioMediaStream, to: TwilioMediaStream, bursts: number): Promise<number[]> {
  const delays: number[] = [];
  const sentAt: number[] = [];
  const seenFrom = to.media.length;
  const frames = bursts * 15;
  await sendPaced(frames, (i) => {
    const inBurst = i % 15 < 5;
    if (inBurst && i % 15 === 0) sentAt.push(performance.now());
    from.sendMedia(inBurst ? mulawToneFrame(1200, i) : SILENCE);
  });
  await sleep(200);
  const received = to.media.slice(seenFrom);
  let burst = 0;
  let inTone = false;
  for (const media of received) {
    const loud = toneLevels(decodeMulaw(media.bytes), 8000, [1200])[1200]! > 1500;
    if (loud && !inTone && burst < sentAt.length) {
      // The frame's last sample left the sender when the frame was sent: the onset is in this frame.
      delays.push(media.at - sentAt[burst]!);
      burst++;
    }
    inTone = loud;
  }
  return delays;
}

for (const backend of ['redis', 'memory'] as const) {
  describe(`rooms in a cluster (${backend}): participants of one room on different instances`, function () {
    this.timeout(60000);
    let redis: RedisServer | undefined;
    let cluster: TestCluster | undefined;
    let kind: ClusterKind;
    const calls: TwilioMediaStream[] = [];
    let closed: RoomCloseReason[];

    before(async () => {
      if (backend === 'redis') {
        redis = await startRedisServer();
        kind = { kind: 'redis', url: redis.url };
      } else kind = { kind: 'memory' };
    });

    after(async () => {
      await redis?.stop();
    });

    beforeEach(async () => {
      closed = [];
      cluster = await startCluster(() => roomHandler(closed), kind, { instances: 2, options: { rateLimit: false, rooms: { sampleRate: 8000 } } });
    });

    afterEach(async () => {
      for (const call of calls.splice(0)) call.close();
      await cluster?.close();
      cluster = undefined;
    });

    async function dial(server: TestServer, room = 'x'): Promise<TwilioMediaStream> {
      const call = await dialTestServer(server, {});
      calls.push(call);
      void room;
      return call;
    }

    it('a phone call on each of two instances: each hears the other\'s tone and not its own; the room is mixed once', async () => {
      const [one, two] = cluster!.instances as [TestServer, TestServer];
      const a = await dial(one);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 1, 5000, 'A in the room, mixed on instance one');
      const b = await dial(two);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 2, 5000, 'B in the room from instance two');
      expect(two.stream.rooms.get('x'), 'instance two relays, it does not mix').to.equal(undefined);
      expect(two.stream.rooms.list()[0]).to.deep.include({ name: 'x', instanceId: 'instance-0' });
      await sendPaced(75, (i) => {
        a.sendMedia(mulawToneFrame(600, i));
        b.sendMedia(mulawToneFrame(1000, i));
      });
      const atA = toneLevels(lastMs(decodeMulaw(a.receivedAudio()), 8000, 1000), 8000, [600, 1000]);
      const atB = toneLevels(lastMs(decodeMulaw(b.receivedAudio()), 8000, 1000), 8000, [600, 1000]);
      expect(atA[1000], 'A hears B across instances').to.be.above(2000);
      expect(atA[600], 'A does not hear itself').to.be.below(100);
      expect(atB[600], 'B hears A across instances').to.be.above(2000);
      expect(atB[1000], 'B does not hear itself').to.be.below(100);
    });

    it('adds at most 20 ms per direction on loopback (tone onsets caller to caller, across instances against one instance)', async () => {
      const [one, two] = cluster!.instances as [TestServer, TestServer];
      const a = await dial(one);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 1, 5000, 'A in the room');
      const b = await dial(two);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 2, 5000, 'B in the room');
      const across = { ab: await onsetDelays(a, b, 8), ba: await onsetDelays(b, a, 8) };
      b.close();
      await waitUntil(() => one.stream.rooms.get('x')?.size === 1, 5000, 'B gone');
      const c = await dial(one);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 2, 5000, 'C in the room, on instance one');
      const local = { ac: await onsetDelays(a, c, 8), ca: await onsetDelays(c, a, 8) };
      const figures = { acrossAB: median(across.ab), acrossBA: median(across.ba), localAC: median(local.ac), localCA: median(local.ca) };
      for (const list of [...Object.values(across), ...Object.values(local)]) expect(list.length, JSON.stringify({ across, local })).to.be.at.least(6);
      expect(figures.acrossAB - figures.localAC, JSON.stringify(figures)).to.be.at.most(20);
      expect(figures.acrossBA - figures.localCA, JSON.stringify(figures)).to.be.at.most(20);
    });

    it('goes on mixing when the participant on the mixing instance leaves; stream.rooms.close() from the other instance closes it', async () => {
      const [one, two] = cluster!.instances as [TestServer, TestServer];
      const a = await dial(one);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 1, 5000, 'A in the room');
      const b = await dial(two);
      const c = await dial(two);
      await waitUntil(() => one.stream.rooms.get('x')?.size === 3, 5000, 'B and C in the room');
      a.close();
      await waitUntil(() => one.stream.rooms.get('x')?.size === 2, 5000, 'A gone');
      await sendPaced(50, (i) => {
        b.sendMedia(mulawToneFrame(600, i));
        c.sendMedia(mulawToneFrame(1000, i));
      });
      expect(toneLevels(lastMs(decodeMulaw(b.receivedAudio()), 8000, 600), 8000, [1000])[1000], 'B hears C through instance one').to.be.above(2000);
      expect(await two.stream.rooms.close('x')).to.equal(true);
      await waitUntil(() => closed.length === 2, 5000, 'both told');
      expect(closed).to.deep.equal(['closed', 'closed']);
      expect(one.stream.rooms.list()).to.deep.equal([]);
      await waitUntil(() => two.stream.rooms.list().length === 0, 5000, 'the relay gone');
    });
  });
}
