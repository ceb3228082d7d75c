import { expect } from 'chai';
import { WrongPinError } from '../../src/index.js';
import { checkRoomsOptions, type RoomsOptions } from '../../src/rooms/rooms-options.js';
import type { Session } from '../../src/session/session.js';
import { rejection } from '../support/rejection.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';

describe('rooms: join(name, { pin })', function () {
  this.timeout(20000);
  let server: TestServer;
  const calls: TwilioMediaStream[] = [];

  afterEach(async () => {
    for (const call of calls.splice(0)) call.close();
    await server.close();
  });

  /** Phone calls whose handler does nothing: the test joins them to rooms itself. */
  async function sessions(count: number, rooms = {}): Promise<Session[]> {
    const opened: Session[] = [];
    server = await startTestServer(Object.assign(() => {}, { inputFormat: 'native' as const }), { rooms });
    server.stream.on('session', (session: Session) => opened.push(session));
    for (let i = 0; i < count; i++) {
      calls.push(await dialTestServer(server));
      await waitUntil(() => opened.length === i + 1, 3000, `session ${i + 1} open`);
    }
    return opened;
  }

  it('a room made with a PIN admits the same PIN only; a PIN brought to an open room is refused; each wrong one says the tries left', async () => {
    const [a, b, c, d] = await sessions(4);
    await a!.context.join('pinned', { pin: '2468' });
    expect(await rejection(b!.context.join('pinned'))).to.include({ code: 'ROOM_PIN_REQUIRED', message: 'Room "pinned" needs a PIN.' });
    const wrong = await rejection(b!.context.join('pinned', { pin: '1357' }), WrongPinError);
    expect(wrong).to.include({ code: 'BAD_PIN', triesLeft: 2, message: 'Wrong PIN for room "pinned". 2 tries left.' });
    await c!.context.join('pinned', { pin: '2468' });
    await d!.context.join('open');
    expect(await rejection(b!.context.join('open', { pin: '2468' }), WrongPinError)).to.include({ triesLeft: 1 });
    expect(server.stream.rooms.get('pinned')!.size).to.equal(2);
    expect(server.stream.rooms.get('open')!.size).to.equal(1);
    expect(await rejection(b!.context.join('pinned', { pin: '' }))).to.include({ code: 'BAD_REQUEST' });
  });

  it('a full room with a PIN tells a stranger it needs a PIN, not that it is full (nothing about who is in it)', async () => {
    const [a, b, stranger] = await sessions(3);
    await a!.context.join('small', { pin: '2468', maxParticipants: 2 });
    await b!.context.join('small', { pin: '2468' });
    expect(await rejection(stranger!.context.join('small'))).to.include({ code: 'ROOM_PIN_REQUIRED' });
    expect(await rejection(stranger!.context.join('small', { pin: '1111' }))).to.include({ code: 'BAD_PIN' });
  });

  it('rooms.pin: a wrong PIN makes no room and costs no place: the session stays in the room it was in', async () => {
    const [a, b] = await sessions(2, { pin: (room: string) => (room === 'vip' ? '9753' : undefined) });
    await a!.context.join('lobby');
    await b!.context.join('lobby');
    expect(await rejection(a!.context.join('vip', { pin: '1111' }))).to.include({ code: 'BAD_PIN' });
    expect(await rejection(a!.context.join('vip'))).to.include({ code: 'ROOM_PIN_REQUIRED' });
    expect(server.stream.rooms.get('lobby')!.size, 'still in the lobby').to.equal(2);
    expect(server.stream.rooms.list().map((r) => r.name)).to.deep.equal(['lobby']);
    await a!.context.join('vip', { pin: '9753' });
    expect(server.stream.rooms.get('vip')!.info()).to.include({ pin: true });
    expect(server.stream.rooms.get('lobby')!.size).to.equal(1);
  });

  it('the third wrong PIN hangs the session up, with the line where it can be said', async () => {
    const [a, guesser] = await sessions(2, { pinAttempts: 3 });
    await a!.context.join('pinned', { pin: '2468' });
    for (const [pin, left] of [['0', 2], ['1', 1], ['2', 0]] as const) {
      expect(await rejection(guesser!.context.join('pinned', { pin }), WrongPinError)).to.include({ triesLeft: left });
    }
    const stop = await guesser!.ended;
    expect(stop).to.include({ reason: 'hangup', message: 'Too many wrong PINs. Goodbye.' });
    expect(server.stream.rooms.get('pinned')!.size).to.equal(1);
  });
});

describe('rooms options: PINs and idle participants', () => {
  it('refuses a bad PIN, attempt limit, failure budget or idle time at once, and never quotes the PIN', () => {
    const bad: RoomsOptions[] = [{ pin: '' }, { pin: 'has space' }, { pinAttempts: 0 }, { idleMs: -1 }, { pinFailures: { limit: 0, windowMs: 1 } }];
    for (const rooms of bad) expect(() => checkRoomsOptions(rooms), JSON.stringify(rooms)).to.throw(TypeError);
    expect(() => checkRoomsOptions({ pin: 'has space' })).to.throw(TypeError, /^rooms\.pin: a PIN is 1-64 visible ASCII characters/);
    const settings = checkRoomsOptions({});
    expect(settings).to.include({ pinAttempts: 3, idleMs: 30_000 });
    expect(settings.pinFailures).to.deep.equal({ limit: 10, windowMs: 600_000 });
    expect(settings.pin('any')).to.equal(undefined);
  });
});
