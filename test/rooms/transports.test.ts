import { expect } from 'chai';
import type { SessionContext } from '../../src/session/handler.js';
import type { LeaveReason, ParticipantInfo, RoomHandle } from '../../src/session/room-access.js';
import { rejection } from '../support/rejection.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { decodeMulaw, lastMs, mulawToneFrame, toneFrame, toneLevels } from '../support/tones.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, sleep, waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

const PCM_16K = { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 };

/** What the handlers of a test saw. */
interface Seen {
  handles: Map<string, RoomHandle>;
  events: { session: string; event: string; who?: string; reason?: LeaveReason }[];
  errors: { session: string; code: string }[];
}

/** Joins room `r1` (a DTMF `0` leaves it, `1` joins it again); records events and refusals. */
function roomHandler(seen: Seen, options: { room?: string; maxParticipants?: number } = {}) {
  const handler = (ctx: SessionContext) => {
    const join = async () => {
      try {
        const room = await ctx.join(options.room ?? 'r1', { maxParticipants: options.maxParticipants });
        seen.handles.set(ctx.id, room);
        room.on('join', (p: ParticipantInfo) => seen.events.push({ session: ctx.id, event: 'join', who: p.id }));
        room.on('leave', (p: ParticipantInfo, reason: LeaveReason) => seen.events.push({ session: ctx.id, event: 'leave', who: p.id, reason }));
        room.on('close', (reason) => seen.events.push({ session: ctx.id, event: 'close', reason: reason as LeaveReason }));
      } catch (error) {
        seen.errors.push({ session: ctx.id, code: (error as { code: string }).code });
      }
    };
    ctx.on('dtmf', (digit) => {
      if (digit === '0') void ctx.leave();
      if (digit === '1') void join();
    });
    void join();
  };
  handler.inputFormat = 'native' as const;
  return handler;
}

const fresh = (): Seen => ({ handles: new Map(), events: [], errors: [] });

function phoneHears(call: TwilioMediaStream, ms: number, frequencies: number[]): Record<number, number> {
  return toneLevels(lastMs(decodeMulaw(call.receivedAudio()), 8000, ms), 8000, frequencies);
}

function pcmOf(socket: AudioSocket): Int16Array {
  const bytes = socket.receivedAudio();
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.length & ~1)));
}

describe('rooms over real transports', function () {
  this.timeout(40000);
  let server: TestServer;
  let seen: Seen;
  const calls: TwilioMediaStream[] = [];
  const sockets: AudioSocket[] = [];

  async function start(options: { room?: string; maxParticipants?: number } = {}) {
    seen = fresh();
    server = await startTestServer(roomHandler(seen, options), { rooms: { sampleRate: 16000 } });
  }

  afterEach(async () => {
    for (const call of calls.splice(0)) call.close();
    for (const socket of sockets.splice(0)) socket.close();
    await server.close();
    expect(server.stream.rooms.list(), 'rooms left behind').to.deep.equal([]);
  });

  async function dial(): Promise<TwilioMediaStream> {
    const call = await dialTestServer(server);
    calls.push(call);
    return call;
  }

  async function pcmSocket(id: string): Promise<AudioSocket> {
    const socket = new AudioSocket(server.url);
    sockets.push(socket);
    const started = await socket.start(id, { mediaFormat: PCM_16K });
    expect(started.event).to.equal('started');
    return socket;
  }

  const inRoom = (n: number, name = 'r1') => waitUntil(() => server.stream.rooms.get(name)?.size === n, 5000, `${n} in room ${name}`);

  it('a WebSocket client joins a room of two phone calls: it hears both, and both hear it', async () => {
    await start();
    const a = await dial();
    const b = await dial();
    const c = await pcmSocket('ws-joiner');
    await inRoom(3);
    await sendPaced(75, (i) => {
      a.sendMedia(mulawToneFrame(600, i));
      b.sendMedia(mulawToneFrame(1000, i));
      const pcm = toneFrame(1400, 16000, i);
      c.sendMedia(new Uint8Array(pcm.buffer));
    });
    const atC = toneLevels(lastMs(pcmOf(c), 16000, 1000), 16000, [600, 1000, 1400]);
    expect(atC[600], 'the WebSocket client hears A').to.be.above(2000);
    expect(atC[1000], 'the WebSocket client hears B').to.be.above(2000);
    expect(atC[1400], 'not itself').to.be.below(100);
    const atA = phoneHears(a, 1000, [600, 1000, 1400]);
    expect(atA[1400], 'A hears the WebSocket client').to.be.above(2000);
    expect(atA[1000], 'A hears B').to.be.above(2000);
    expect(atA[600], 'not itself').to.be.below(100);
  });

  it('a participant leaving changes what the others hear at once; it hears its handler again, and can come back', async () => {
    await start();
    const a = await dial();
    const b = await dial();
    const c = await dial();
    await inRoom(3);
    const send = (i: number) => {
      a.sendMedia(mulawToneFrame(600, i));
      b.sendMedia(mulawToneFrame(1000, i));
      c.sendMedia(mulawToneFrame(1400, i));
    };
    await sendPaced(40, send);
    expect(phoneHears(a, 400, [1400])[1400], 'A hears C while C is in').to.be.above(2000);
    c.sendDtmf('0');
    await inRoom(2);
    const left = a.media.length;
    await sendPaced(40, (i) => send(40 + i));
    const afterLeaving = decodeMulaw(Buffer.concat(a.media.slice(left + 3).map((m) => m.bytes)));
    const levels = toneLevels(afterLeaving, 8000, [1000, 1400]);
    expect(levels[1400], 'A no longer hears C').to.be.below(100);
    expect(levels[1000], 'A still hears B').to.be.above(2000);
    const leaves = seen.events.filter((e) => e.event === 'leave' && e.reason === 'left');
    expect(leaves, 'A and B told that C left').to.have.length(2);
    expect(new Set(leaves.map((e) => e.who)).size).to.equal(1);
    expect(leaves.map((e) => e.session)).to.not.include(leaves[0]!.who);
    const cHeard = c.media.length;
    await sleep(200);
    expect(c.media.length - cHeard, 'nothing reaches C from a room it left (its handler sends nothing)').to.be.below(3);
    c.sendDtmf('1');
    await inRoom(3);
    await sendPaced(30, (i) => send(80 + i));
    expect(phoneHears(a, 300, [1400])[1400], 'A hears C again').to.be.above(2000);
  });

  it('ten participants talking at once: each hears the nine others, nothing clips or wraps, and the room frees itself as they hang up', async () => {
    await start();
    const clients: AudioSocket[] = [];
    for (let k = 0; k < 10; k++) clients.push(await pcmSocket(`talker-${k}`));
    await inRoom(10);
    const frequency = (k: number) => 400 + 150 * k;
    await sendPaced(60, (i) => {
      for (const [k, client] of clients.entries()) client.sendMedia(new Uint8Array(toneFrame(frequency(k), 16000, i, 12000).buffer));
    });
    for (const [k, client] of clients.entries()) {
      const heard = lastMs(pcmOf(client), 16000, 600);
      const levels = toneLevels(heard, 16000, clients.map((_, j) => frequency(j)));
      for (let j = 0; j < 10; j++) {
        if (j === k) expect(levels[frequency(j)], `${k} does not hear itself`).to.be.below(200);
        else expect(levels[frequency(j)], `${k} hears ${j}`).to.be.above(1000);
      }
      // Nine voices of 12000 each would reach 108000: the limiter keeps every sample inside 16 bits
      // without the wrap-around that plain int16 addition makes.
      let peak = 0;
      for (const s of heard) peak = Math.max(peak, Math.abs(s));
      expect(peak).to.be.within(20000, 32767);
    }
    for (const client of clients.slice(0, 9)) client.close();
    await inRoom(1);
    clients[9]!.close();
    await waitUntil(() => server.stream.rooms.list().length === 0, 5000, 'the room freed');
  });

  it('refuses a full room with ROOM_FULL; the ones inside are unharmed', async () => {
    await start({ maxParticipants: 2 });
    const a = await dial();
    const b = await dial();
    await inRoom(2);
    const c = await dial();
    await waitUntil(() => seen.errors.length === 1, 3000, 'the refusal');
    expect(seen.errors[0]).to.include({ code: 'ROOM_FULL' });
    await sendPaced(30, (i) => {
      a.sendMedia(mulawToneFrame(600, i));
      b.sendMedia(mulawToneFrame(1000, i));
      c.sendMedia(mulawToneFrame(1400, i));
    });
    expect(phoneHears(a, 300, [1000, 1400])).to.satisfy((l: Record<number, number>) => l[1000]! > 2000 && l[1400]! < 100);
  });

  it('a participant that vanishes mid-mix (its socket dropped) leaves; the others go on', async () => {
    await start();
    const a = await dial();
    const b = await dial();
    const c = await dial();
    await inRoom(3);
    await sendPaced(20, (i) => {
      a.sendMedia(mulawToneFrame(600, i));
      b.sendMedia(mulawToneFrame(1000, i));
      c.sendMedia(mulawToneFrame(1400, i));
    });
    c.destroy();
    calls.splice(calls.indexOf(c), 1);
    await inRoom(2);
    const mark = a.media.length;
    await sendPaced(30, (i) => {
      a.sendMedia(mulawToneFrame(600, 20 + i));
      b.sendMedia(mulawToneFrame(1000, 20 + i));
    });
    const levels = toneLevels(decodeMulaw(Buffer.concat(a.media.slice(mark + 3).map((m) => m.bytes))), 8000, [1000, 1400]);
    expect(levels[1000]).to.be.above(2000);
    expect(levels[1400]).to.be.below(100);
    expect(seen.events.some((e) => e.event === 'leave' && e.reason === 'ended')).to.equal(true);
  });

  it('stream.rooms.close(): every participant is let go and told, its handler\'s audio goes straight out again, and the name is free', async () => {
    await start();
    const a = await dial();
    const b = await dial();
    await inRoom(2);
    expect(server.stream.rooms.list()).to.have.length(1);
    expect(server.stream.rooms.list()[0]).to.deep.include({ name: 'r1', sampleRate: 16000, maxParticipants: 10 });
    expect(await server.stream.rooms.close('r1')).to.equal(true);
    expect(await server.stream.rooms.close('r1')).to.equal(false);
    expect(await server.stream.rooms.close('no such room!')).to.equal(false);
    expect(seen.events.filter((e) => e.event === 'close')).to.have.length(2);
    const handle = [...seen.handles.values()][0]!;
    expect(handle.closed).to.equal(true);
    handle.send({ encoding: 'pcm16', sampleRate: 16000, samples: new Int16Array(320) }); // ignored, no throw
    expect(server.stream.rooms.list()).to.deep.equal([]);
    // Its session sends straight to the phone again.
    const session = server.stream.getSession([...seen.handles.keys()][0]!)!;
    const before = a.media.length + b.media.length;
    session.send({ encoding: 'pcm16', sampleRate: 8000, samples: toneFrame(400, 8000, 0) });
    await waitUntil(() => a.media.length + b.media.length > before, 2000, 'the handler\'s audio, straight to its phone');
    // Unknown and badly named rooms.
    expect(await rejection(session.context.join('r1', { create: false }))).to.include({ code: 'ROOM_NOT_FOUND' });
    expect(await rejection(session.context.join('no spaces please'))).to.include({ code: 'BAD_REQUEST' });
    expect(await rejection(session.context.join('r2', { sampleRate: 11025 }))).to.include({ code: 'BAD_REQUEST' });
    expect(server.stream.rooms.list()).to.deep.equal([]);
    a.sendDtmf('1');
    b.sendDtmf('1');
    await inRoom(2);
  });
});
