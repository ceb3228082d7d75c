import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import type { SessionContext } from '../../src/session/handler.js';
import { heardSince, keepSending, keyIn, peakLevel } from '../support/room-clients.js';
import { type ClusterKind, startCluster, type TestCluster } from '../support/cluster.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { dialTestServer, type TestServer } from '../support/server.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { sleep, waitUntil } from '../support/wait.js';

/** A PIN with a dash: base64 audio on the bus never holds one, so finding it there would be the PIN itself. */
const PIN = 'blue-2468';
/** The PINs calls present, by the name their `pin` parameter gives (the PIN itself stays out of the call's facts, which are logged). */
const PINS: Record<string, string> = { right: PIN, wrong: 'blue-1357' };

interface Refusal {
  session: string;
  code: string;
  triesLeft?: number;
}

/**
 * Joins the room of the call's `room` parameter (default `x`) with the PIN its `pin` parameter names
 * (`right`, `wrong`); keys ended by `#` try again with them as the PIN. Refusals are recorded.
 */
function pinHandler(refusals: Refusal[]) {
  const handler = (ctx: SessionContext) => {
    const room = ctx.facts.customParameters.room || 'x';
    const join = (pin: string | undefined) =>
      ctx.join(room, pin ? { pin } : {}).catch((error: { code: string; triesLeft?: number }) => refusals.push({ session: ctx.id, code: error.code, triesLeft: error.triesLeft }));
    let digits = '';
    ctx.on('dtmf', (digit) => {
      if (digit !== '#') digits += digit;
      else void join(digits).then(() => (digits = ''));
    });
    void join(PINS[ctx.facts.customParameters.pin ?? '']);
  };
  handler.inputFormat = 'native' as const;
  return handler;
}

for (const backend of ['redis', 'memory'] as const) {
  describe(`room PINs in a cluster (${backend}): checked where the room is mixed`, function () {
    this.timeout(60000);
    let redis: RedisServer | undefined;
    let cluster: TestCluster | undefined;
    let kind: ClusterKind;
    let refusals: Refusal[];
    let logText: string;
    const calls: TwilioMediaStream[] = [];
    const stops: { stop(): void }[] = [];
    const connections: Redis[] = [];

    before(async () => {
      if (backend === 'redis') {
        redis = await startRedisServer();
        kind = { kind: 'redis', url: redis.url };
      } else kind = { kind: 'memory' };
    });

    after(async () => {
      await redis?.stop();
    });

    async function start(rooms = {}): Promise<[TestServer, TestServer]> {
      refusals = [];
      logText = '';
      const destination = new Writable({
        write(chunk: Buffer, _encoding, done) {
          logText += chunk.toString();
          done();
        },
      });
      cluster = await startCluster(() => pinHandler(refusals), kind, {
        instances: 2,
        options: {
          rateLimit: false,
          logger: createLogger({ level: 'trace', destination }),
          rooms: { sampleRate: 8000, ...rooms },
          customParameters: (call) => ({ room: call.params.room ?? 'x', pin: call.params.pin ?? '' }),
        },
      });
      return cluster.instances as [TestServer, TestServer];
    }

    afterEach(async () => {
      for (const connection of connections.splice(0)) connection.disconnect();
      for (const s of stops.splice(0)) s.stop();
      for (const call of calls.splice(0)) call.close();
      await cluster?.close();
      cluster = undefined;
    });

    async function dial(server: TestServer, params: Record<string, string>): Promise<TwilioMediaStream> {
      const call = await dialTestServer(server, params);
      calls.push(call);
      return call;
    }

    const refusalsOf = (n: number) => waitUntil(() => refusals.length >= n, 5000, `${n} refusal(s); got ${JSON.stringify(refusals)}`);

    it('the PIN of the creating join: a caller on the other instance without it or with another hears nothing; with it, both hear each other; three wrong PINs hang up', async () => {
      const client = redis ? new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 }) : undefined;
      const monitor = client ? await client.monitor() : undefined;
      if (client && monitor) connections.push(client, monitor);
      const commands: string[] = [];
      monitor?.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')));
      const [one, two] = await start();
      const a = await dial(one, { pin: 'right' });
      await waitUntil(() => one.stream.rooms.get('x')?.size === 1, 5000, 'A in room x, mixed on instance one');
      stops.push(keepSending((frame) => a.sendMedia(frame), 600));

      const stranger = await dial(two, { pin: 'wrong' });
      const bare = await dial(two, {});
      stops.push(keepSending((frame) => stranger.sendMedia(frame), 1400));
      const aMark = a.media.length;
      await sleep(1000);
      expect(one.stream.rooms.get('x')!.size, 'neither got in').to.equal(1);
      expect(peakLevel(heardSince(stranger), 600), 'the stranger hears nothing of A').to.be.below(50);
      expect(peakLevel(heardSince(bare), 600), 'nor does the caller without a PIN').to.be.below(50);
      expect(peakLevel(heardSince(a, aMark), 1400), 'A hears nothing of the stranger').to.be.below(50);
      await refusalsOf(2);
      expect(refusals.map((r) => [r.code, r.triesLeft]).sort()).to.deep.equal([['BAD_PIN', 2], ['ROOM_PIN_REQUIRED', undefined]]);
      expect(one.stream.rooms.list()[0]).to.include({ name: 'x', pin: true });

      const member = await dial(two, { pin: 'right' });
      await waitUntil(() => one.stream.rooms.get('x')?.size === 2, 5000, 'the member in, from instance two');
      expect(two.stream.rooms.list()[0]).to.include({ name: 'x', instanceId: 'instance-0', pin: true });
      stops.push(keepSending((frame) => member.sendMedia(frame), 1000));
      const mark = a.media.length;
      await sleep(1000);
      expect(peakLevel(heardSince(member), 600), 'the member hears A across instances').to.be.above(2000);
      expect(peakLevel(heardSince(a, mark), 1000), 'A hears the member').to.be.above(2000);

      // The stranger's tries are counted on its own instance: two more wrong ones (keyed in) hang it up.
      await keyIn(stranger, '1#');
      await refusalsOf(3);
      await keyIn(stranger, '2#');
      await stranger.closed;
      expect(refusals.filter((r) => r.code === 'BAD_PIN').map((r) => r.triesLeft)).to.deep.equal([2, 1, 0]);
      expect(one.stream.rooms.get('x')!.size).to.equal(2);

      expect(logText, 'the PIN is in no log line').to.not.include(PIN);
      expect(logText).to.include('room: a wrong PIN');
      if (monitor) {
        expect(commands.some((c) => c.includes('room.join')), 'the joins crossed Redis').to.equal(true);
        expect(commands.filter((c) => c.includes(PIN)), 'the PIN never crosses Redis').to.deep.equal([]);
      }
    });

    it('a PIN brought to an open room is refused there (BAD_PIN): a PIN never lands in a room someone else made without one', async () => {
      const [one, two] = await start();
      await dial(one, { room: 'open' });
      await waitUntil(() => one.stream.rooms.get('open')?.size === 1, 5000, 'an open room on instance one');
      await dial(two, { room: 'open', pin: 'right' });
      await refusalsOf(1);
      expect(refusals[0]).to.include({ code: 'BAD_PIN', triesLeft: 2 });
      expect(one.stream.rooms.get('open')!.size).to.equal(1);
    });

    it('rooms.pin set by the server: checked before any room is made, and where the room is mixed', async () => {
      const [one, two] = await start({ pin: (room: string) => (room === 'vip' ? PIN : undefined) });
      await dial(one, { room: 'vip' });
      await dial(two, { room: 'vip', pin: 'wrong' });
      await refusalsOf(2);
      expect(refusals.map((r) => r.code).sort()).to.deep.equal(['BAD_PIN', 'ROOM_PIN_REQUIRED']);
      expect([...one.stream.rooms.list(), ...two.stream.rooms.list()], 'no room made for them').to.deep.equal([]);
      const a = await dial(one, { room: 'vip', pin: 'right' });
      await waitUntil(() => one.stream.rooms.get('vip')?.size === 1, 5000, 'A in vip');
      await dial(two, { room: 'vip', pin: 'wrong' });
      await refusalsOf(3);
      await dial(two, { room: 'vip', pin: 'right' });
      await waitUntil(() => one.stream.rooms.get('vip')?.size === 2, 5000, 'B in vip from instance two');
      await dial(two, { room: 'other' });
      await waitUntil(() => two.stream.rooms.get('other')?.size === 1, 5000, 'a room the function gives no PIN stays open');
      expect(a.isOpen).to.equal(true);
    });
  });
}
