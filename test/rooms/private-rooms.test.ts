import { expect } from 'chai';
import { conferencePin, demoHandler } from '../../handlers/index.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { heardSince, keepSending, keyIn, peakLevel, RoomProgram, startConference } from '../support/room-clients.js';
import { dialTestServer, PUBLIC_URL, type TestServer } from '../support/server.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { sleep, waitUntil } from '../support/wait.js';

const PIN = '4321';
/** The cues of the conference demo (handlers/conference/cues.ts): the prompt's second beep, the wrong-PIN tone, the reorder tone. */
const PROMPT_HZ = 990;
const WRONG_HZ = 330;
const REORDER_HZ = 620;
/** What each side sends. */
const CALLER_HZ = 600;
const STRANGER_HZ = 1400;
const MEMBER_HZ = 1000;

describe('private rooms: the conference demo with CALLSTREAM_ROOM_PIN', function () {
  this.timeout(40000);
  let server: TestServer | undefined;
  let api: FakeTwilioApi | undefined;
  const stops: { stop(): void }[] = [];
  const calls: TwilioMediaStream[] = [];
  const programs: RoomProgram[] = [];

  afterEach(async () => {
    for (const s of stops.splice(0)) s.stop();
    for (const c of calls.splice(0)) c.close();
    for (const p of programs.splice(0)) p.socket.close();
    await server?.close();
    server = undefined;
    await api?.close();
    api = undefined;
  });

  async function dial(params: Record<string, string>): Promise<TwilioMediaStream> {
    const call = await dialTestServer(server!, params);
    calls.push(call);
    return call;
  }

  /** A call signed for the fake Twilio API's account (its REST updates are recorded there). */
  async function dialWithRest(params: Record<string, string>): Promise<TwilioMediaStream> {
    const callSid = sid('CA');
    const hook = await postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, authToken: api!.authToken, params: { CallSid: callSid, ...params } });
    const call = new TwilioMediaStream({ baseUrl: server!.url, streamUrl: hook.streamUrl!, authToken: api!.authToken }, callSid);
    await call.begin(hook.parameters);
    calls.push(call);
    return call;
  }

  async function program(id: string): Promise<RoomProgram> {
    const p = await RoomProgram.start(server!, id);
    programs.push(p);
    return p;
  }

  /** The caller hears the prompt's beep, keys the PIN in, and is in the room (a room that asks for no PIN lets it in at once). */
  async function keyedInto(call: TwilioMediaStream, room: string, size: number): Promise<void> {
    const inRoom = () => server!.stream.rooms.get(room)?.size === size;
    await waitUntil(() => inRoom() || peakLevel(heardSince(call), PROMPT_HZ) > 1000, 5000, 'the PIN prompt');
    if (!inRoom()) await keyIn(call, `${PIN}#`);
    await waitUntil(inRoom, 5000, `the caller in ${room}`);
  }

  it('a stranger without the PIN hears nothing of the room and learns nobody in it; with the PIN, a program hears the caller who keyed it in over DTMF', async () => {
    server = await startConference({ CALLSTREAM_ROOM_PIN: PIN });
    const caller = await dial({ room: 'sales', From: '+15550100001' });
    await keyedInto(caller, 'sales', 1);
    stops.push(keepSending((frame) => caller.sendMedia(frame), CALLER_HZ));

    // A stranger names the room without a PIN; it talks all along.
    const stranger = await program('stranger');
    stops.push(keepSending((frame) => stranger.socket.sendMedia(frame), STRANGER_HZ));
    const callerMark = caller.media.length;
    await stranger.inputs({ room: 'sales' });
    await sleep(1000);
    expect(server.stream.rooms.get('sales')!.size, 'the stranger is not in the room').to.equal(1);
    expect(peakLevel(stranger.heard(), CALLER_HZ), 'the stranger hears nothing of the caller').to.be.below(50);
    expect(peakLevel(heardSince(caller, callerMark), STRANGER_HZ), 'the caller hears nothing of the stranger').to.be.below(50);
    expect(JSON.stringify(stranger.socket.messages), 'nothing about who is in the room').to.not.match(/0001|\+1555|caller|joined|telephone/);
    expect((await stranger.waitForMessages('warning', 1))[0]).to.include({ code: 'ROOM_PIN_REQUIRED' });

    // Then with a wrong PIN: the same.
    await stranger.inputs({ pin: '1111' });
    const warnings = await stranger.waitForMessages('warning', 2);
    expect(warnings[1]).to.include({ code: 'BAD_PIN' });
    expect(String(warnings[1]!.message)).to.match(/Wrong PIN for room "sales"\. 2 tries left\./);
    await sleep(500);
    expect(server.stream.rooms.get('sales')!.size).to.equal(1);
    expect(peakLevel(stranger.heard(), CALLER_HZ)).to.be.below(50);
    expect(JSON.stringify(stranger.socket.messages)).to.not.match(/0001|\+1555|caller|joined|telephone/);

    // A program with the PIN joins: both hear each other, and it is told who is there (not the whole number).
    const member = await program('member');
    stops.push(keepSending((frame) => member.socket.sendMedia(frame), MEMBER_HZ));
    await member.inputs({ room: 'sales', pin: PIN });
    await waitUntil(() => server!.stream.rooms.get('sales')?.size === 2, 5000, 'the member in the room');
    const mark = caller.media.length;
    await sleep(1000);
    expect(peakLevel(member.heard(), CALLER_HZ), 'the member hears the caller').to.be.above(2000);
    expect(peakLevel(heardSince(caller, mark), MEMBER_HZ), 'the caller hears the member').to.be.above(2000);
    expect((await member.waitForMessages('log', 1))[0]!.data).to.equal('You are in room "sales" with caller …0001 (telephone).');
    expect(JSON.stringify(member.socket.messages)).to.not.include('+15550100001');
    expect(server.stream.rooms.list()[0]).to.include({ name: 'sales', pin: true });
  });

  it('wrong PINs end the session at the third: a program gets the refusal, its socket closes, and no room is made', async () => {
    server = await startConference({ CALLSTREAM_ROOM_PIN: PIN });
    const stranger = await program('guesser');
    await stranger.inputs({ room: 'sales', pin: '0000' });
    await stranger.waitForMessages('warning', 1);
    await stranger.inputs({ room: 'sales', pin: '0000' }); // the same inputs again (the page sends all on any change): no new guess
    await sleep(300);
    expect(stranger.messagesOf('warning')).to.have.length(1);
    await stranger.inputs({ pin: '0001' });
    expect(String((await stranger.waitForMessages('warning', 2))[1]!.message)).to.match(/1 try left/);
    await stranger.inputs({ pin: '0002' });
    expect(await stranger.socket.next((m) => m.type === 'end_stream')).to.include({ data: 'Too many wrong PINs. Goodbye.' });
    expect((await stranger.socket.closed).code).to.equal(1000);
    expect(server.stream.rooms.list(), 'no room was made for the guesses').to.deep.equal([]);
  });

  it('a phone caller keying wrong PINs hears the wrong-PIN tone each time, then the line "Too many wrong PINs" (<Say> over REST) and the hang-up', async () => {
    api = await FakeTwilioApi.start();
    server = await startConference({ CALLSTREAM_ROOM_PIN: PIN }, api.streamOptions());
    const caller = await dialWithRest({ room: 'sales' });
    await waitUntil(() => peakLevel(heardSince(caller), PROMPT_HZ) > 1000, 5000, 'the PIN prompt');
    for (const guess of ['1111', '2222']) {
      const mark = caller.media.length;
      await keyIn(caller, `${guess}#`);
      await waitUntil(() => peakLevel(heardSince(caller, mark), WRONG_HZ) > 1000, 5000, 'the wrong-PIN tone');
    }
    await keyIn(caller, '3333#');
    await caller.closed;
    const updates = api.requestsTo('POST', `/Calls/${caller.callSid}.json`).map((r) => r.form);
    expect(updates).to.deep.equal([{ Twiml: '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Too many wrong PINs. Goodbye.</Say><Hangup/></Response>' }]);
    expect(server.stream.rooms.list()).to.deep.equal([]);
  });

  it('one client address has a budget of wrong PINs across its sessions (10 in 10 minutes by default, 4 here): then RATE_LIMITED, even with the right PIN', async () => {
    server = await startConference({ CALLSTREAM_ROOM_PIN: PIN }, { rooms: { pinFailures: { limit: 4, windowMs: 600_000 } } });
    const first = await program('guesser-1');
    await first.inputs({ room: 'sales', pin: '0000' });
    await first.waitForMessages('warning', 1);
    await first.inputs({ pin: '0001' });
    await first.waitForMessages('warning', 2);
    await first.inputs({ pin: '0002' });
    await first.socket.closed;
    const second = await program('guesser-2');
    await second.inputs({ room: 'sales', pin: '0003' });
    expect((await second.waitForMessages('warning', 1))[0]).to.include({ code: 'BAD_PIN' });
    await second.inputs({ pin: PIN });
    expect((await second.waitForMessages('error', 1))[0]).to.include({ code: 'RATE_LIMITED', message: 'Too many wrong PINs. Please try again later.' });
    await second.socket.closed;
    expect(server.stream.rooms.list()).to.deep.equal([]);
  });
});

describe('full rooms say so', function () {
  this.timeout(30000);
  let server: TestServer | undefined;
  let api: FakeTwilioApi | undefined;
  const calls: TwilioMediaStream[] = [];

  afterEach(async () => {
    for (const c of calls.splice(0)) c.close();
    await server?.close();
    await api?.close();
  });

  it('a caller to a full room hears the reorder tone, then "This conference is full." (<Say> over REST) and the hang-up; a program gets an error with code ROOM_FULL', async () => {
    api = await FakeTwilioApi.start();
    server = await startConference({}, { ...api.streamOptions(), rooms: { maxParticipants: 2 } });
    const dial = async () => {
      const callSid = sid('CA');
      const hook = await postWebhook({ baseUrl: server!.url, publicUrl: PUBLIC_URL, authToken: api!.authToken, params: { CallSid: callSid, room: 'sales' } });
      const call = new TwilioMediaStream({ baseUrl: server!.url, streamUrl: hook.streamUrl!, authToken: api!.authToken }, callSid);
      await call.begin(hook.parameters);
      calls.push(call);
      return call;
    };
    const a = await dial();
    const b = await dial();
    await waitUntil(() => server!.stream.rooms.get('sales')?.size === 2, 5000, 'two in the room');
    const c = await dial();
    await waitUntil(() => peakLevel(heardSince(c), REORDER_HZ) > 500, 5000, 'the reorder tone');
    await c.closed;
    expect(api.requestsTo('POST', `/Calls/${c.callSid}.json`).map((r) => r.form)).to.deep.equal([
      { Twiml: '<?xml version="1.0" encoding="UTF-8"?><Response><Say>This conference is full. Please try again later.</Say><Hangup/></Response>' },
    ]);
    const program = await RoomProgram.start(server, 'late');
    await program.inputs({ room: 'sales' });
    expect((await program.waitForMessages('error', 1))[0]).to.deep.equal({ type: 'error', code: 'ROOM_FULL', message: 'This conference is full. Please try again later.' });
    expect((await program.socket.closed).code).to.equal(1000);
    expect(server.stream.rooms.get('sales')!.size, 'the two inside are unharmed').to.equal(2);
    expect(a.isOpen && b.isOpen).to.equal(true);
  });
});

describe('the conference demo\'s CALLSTREAM_ROOM_PIN', () => {
  it('is 4 to 12 digits, else CONFIG_ERROR without repeating it; the page gets a PIN field only when it is set', () => {
    expect(conferencePin({})).to.equal(undefined);
    expect(conferencePin({ CALLSTREAM_ROOM_PIN: ' 123456 ' })).to.equal('123456');
    for (const bad of ['123', '12ab34', '1234567890123']) {
      let thrown: unknown;
      try {
        conferencePin({ CALLSTREAM_ROOM_PIN: bad });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.include({ code: 'CONFIG_ERROR' });
      expect((thrown as Error).message).to.not.include(bad);
    }
    const inputsOf = (pin: string | undefined) => {
      const saved = process.env.CALLSTREAM_ROOM_PIN;
      if (pin === undefined) delete process.env.CALLSTREAM_ROOM_PIN;
      else process.env.CALLSTREAM_ROOM_PIN = pin;
      try {
        const { options } = demoHandler('conference');
        return { inputs: options.additionalInputs?.map((i) => [i.name, 'default' in i ? i.default : undefined]), rooms: options.rooms, greeting: options.telephone?.greeting };
      } finally {
        if (saved === undefined) delete process.env.CALLSTREAM_ROOM_PIN;
        else process.env.CALLSTREAM_ROOM_PIN = saved;
      }
    };
    expect(inputsOf(undefined)).to.deep.equal({ inputs: [['room', 'lobby']], rooms: undefined, greeting: undefined });
    const pinned = inputsOf('987654');
    expect(pinned.inputs, 'the PIN field starts empty').to.deep.equal([['room', 'lobby'], ['pin', undefined]]);
    expect(pinned.rooms).to.deep.equal({ pin: '987654' });
    expect(pinned.greeting).to.match(/enter the conference PIN, then press the pound key/);
  });
});
