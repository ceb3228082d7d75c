import { expect } from 'chai';
import { ManualClock } from '../../src/clock.js';
import type { SessionContext } from '../../src/session/handler.js';
import type { LeaveReason, RoomCloseReason } from '../../src/session/room-access.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { mulawToneFrame } from '../support/tones.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

interface Seen {
  joined: string[];
  refused: { id: string; code: string }[];
  closed: { id: string; reason: RoomCloseReason }[];
  left: { who: string; reason: LeaveReason }[];
}

/** Joins the room named by its id's first part (`r1-idle` joins `r1`), and records what happens. */
function roomOfId(seen: Seen) {
  const handler = (ctx: SessionContext) => {
    void ctx.join(ctx.id.split('-')[0]!).then(
      (room) => {
        seen.joined.push(ctx.id);
        room.on('close', (reason) => seen.closed.push({ id: ctx.id, reason }));
        room.on('leave', (p, reason) => seen.left.push({ who: p.id, reason }));
      },
      (error: { code: string }) => seen.refused.push({ id: ctx.id, code: error.code }),
    );
  };
  handler.inputFormat = 'native' as const;
  return handler;
}

describe('rooms: idle participants do not hold places for ever (an injected clock)', function () {
  this.timeout(30000);
  let server: TestServer;
  const sockets: AudioSocket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await server.close();
  });

  async function client(id: string): Promise<AudioSocket> {
    const socket = new AudioSocket(server.url);
    sockets.push(socket);
    expect((await socket.start(id)).event).to.equal('started');
    return socket;
  }

  it('clients that send nothing leave their rooms after rooms.idleMs and free a full room and maxRooms; one that sends audio stays', async () => {
    const clock = new ManualClock(1_000_000);
    const seen: Seen = { joined: [], refused: [], closed: [], left: [] };
    server = await startTestServer(roomOfId(seen), { clock, rateLimit: false, rooms: { maxParticipants: 3, maxRooms: 3, idleMs: 30_000 } });
    for (const id of ['r1-a', 'r1-b', 'r1-c', 'r4-a']) await client(id);
    const talker = await client('r2-talker');
    await waitUntil(() => seen.joined.length === 5, 5000, 'five joined');
    expect(server.stream.rooms.list().map((r) => r.name).sort()).to.deep.equal(['r1', 'r2', 'r4']);

    // Idle joiners fill r1 and, with r4, this instance's rooms.
    await client('r1-late');
    await client('r3-new');
    await waitUntil(() => seen.refused.length === 2, 5000, 'two refusals');
    expect(seen.refused).to.deep.include.members([{ id: 'r1-late', code: 'ROOM_FULL' }, { id: 'r3-new', code: 'ROOM_LIMIT' }]);

    // Half a minute passes: the talker sends a frame of silence now and then, the others nothing.
    const session = server.stream.getSession('r2-talker')!;
    for (let step = 0; step < 7; step++) {
      const before = session.framesIn;
      talker.sendMedia(mulawToneFrame(0, step));
      await waitUntil(() => session.framesIn > before, 3000, 'the talker\'s frame');
      clock.advance(5000);
    }
    await waitUntil(() => server.stream.rooms.list().length === 1, 3000, 'the idle rooms closed');
    expect(server.stream.rooms.list()[0]).to.deep.include({ name: 'r2' });
    expect(seen.closed.map((c) => c.id).sort()).to.deep.equal(['r1-a', 'r1-b', 'r1-c', 'r4-a']);
    expect(new Set(seen.closed.map((c) => c.reason))).to.deep.equal(new Set(['idle']));
    expect(seen.left.every((l) => l.reason === 'idle')).to.equal(true);

    // The places are free again.
    await client('r1-after');
    await client('r3-after');
    await waitUntil(() => seen.joined.includes('r1-after') && seen.joined.includes('r3-after'), 5000, 'both joined');
    expect(server.stream.rooms.list().map((r) => r.name).sort()).to.deep.equal(['r1', 'r2', 'r3']);
  });

  it('rooms.idleMs: 0 keeps idle participants', async () => {
    const clock = new ManualClock(0);
    const seen: Seen = { joined: [], refused: [], closed: [], left: [] };
    // The session's own idle deadline (idleTimeoutMs) is off too: this is about the room's.
    server = await startTestServer(roomOfId(seen), { clock, rateLimit: false, idleTimeoutMs: 0, rooms: { idleMs: 0 } });
    await client('r1-a');
    await waitUntil(() => seen.joined.length === 1, 5000, 'joined');
    clock.advance(120_000);
    expect(server.stream.rooms.get('r1')?.size).to.equal(1);
    expect(seen.closed).to.deep.equal([]);
  });
});
