import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SessionContext } from '../../src/session/handler.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { decodeMulaw, lastMs, mulawToneFrame, toneLevels } from '../support/tones.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, waitUntil } from '../support/wait.js';

/** Every call joins the room named by its `room` custom parameter. */
function conference(ctx: SessionContext): void {
  void ctx.join(ctx.facts.customParameters.room ?? 'lobby', { sampleRate: 8000 });
}
conference.inputFormat = 'native' as const;

describe('rooms: phone calls in one room', function () {
  this.timeout(30000);
  let server: TestServer;

  beforeEach(async () => {
    server = await startTestServer(conference, { customParameters: { room: 'r1' } });
  });

  afterEach(async () => {
    await server.close();
  });

  it('each of two callers hears the other\'s tone and not its own', async () => {
    const a = await dialTestServer(server);
    const b = await dialTestServer(server);
    await waitUntil(() => server.stream.rooms.get('r1')?.size === 2, 3000, 'both calls in the room');
    await sendPaced(75, (i) => {
      a.sendMedia(mulawToneFrame(600, i));
      b.sendMedia(mulawToneFrame(1000, i));
    });
    const heard = (call: TwilioMediaStream) => toneLevels(lastMs(decodeMulaw(call.receivedAudio()), 8000, 1000), 8000, [600, 1000]);
    const atA = heard(a);
    const atB = heard(b);
    expect(atA[1000], 'A hears B').to.be.above(2000);
    expect(atA[600], 'A does not hear itself').to.be.below(atA[1000]! / 30);
    expect(atB[600], 'B hears A').to.be.above(2000);
    expect(atB[1000], 'B does not hear itself').to.be.below(atB[600]! / 30);
    a.close();
    b.close();
  });
});

describe('rooms: recording', function () {
  this.timeout(30000);

  it('records a room to one mono WAV: the whole mix, as long as the room lived', async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'rooms-rec-'));
    const server = await startTestServer(conference, { customParameters: { room: 'recorded' }, record: { directory, sampleRate: 16000 } });
    try {
      const a = await dialTestServer(server);
      const b = await dialTestServer(server);
      await waitUntil(() => server.stream.rooms.get('recorded')?.size === 2, 3000, 'both calls in the room');
      const room = server.stream.rooms.get('recorded')!;
      expect(server.stream.rooms.list()[0]!.recording).to.equal(room.recording!.file);
      const opened = performance.now();
      await sendPaced(50, (i) => {
        a.sendMedia(mulawToneFrame(600, i));
        b.sendMedia(mulawToneFrame(1000, i));
      });
      a.close();
      b.close();
      await room.recording!.finished;
      const lived = performance.now() - opened;
      const data = readFileSync(room.recording!.file);
      expect(data.toString('ascii', 0, 4)).to.equal('RIFF');
      expect(data.readUInt16LE(22), 'mono').to.equal(1);
      expect(data.readUInt32LE(24)).to.equal(16000);
      expect(data.readUInt32LE(40)).to.equal(data.length - 44);
      const samples = new Int16Array(data.buffer.slice(data.byteOffset + 44));
      const ms = (samples.length / 16000) * 1000;
      expect(ms).to.be.within(lived - 200, lived + 200);
      const levels = toneLevels(samples.subarray(16000 * 0.3, 16000 * 0.9), 16000, [600, 1000]);
      expect(levels[600], 'A in the mix').to.be.above(2000);
      expect(levels[1000], 'B in the mix').to.be.above(2000);
    } finally {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('rooms: what a handler says, and what it hears of the room', function () {
  this.timeout(30000);

  it('ctx.send() reaches its own caller alone, room.send() the whole room, and the mix event carries every voice', async () => {
    const mixes: Int16Array[] = [];
    let first = true;
    const handler = (ctx: SessionContext) => {
      const speaker = first;
      first = false;
      void ctx.join('talk', { sampleRate: 8000 }).then((room) => {
        if (!speaker) return;
        room.on('mix', (frame) => mixes.push(frame.samples));
        room.on('join', () => {
          // To its own caller alone: 1800 Hz. To the whole room: 1400 Hz. Both a second long.
          ctx.send({ encoding: 'pcm16', sampleRate: 8000, samples: Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1800 * i) / 8000))) });
          room.send({ encoding: 'pcm16', sampleRate: 16000, samples: Int16Array.from({ length: 16000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1400 * i) / 16000))) });
        });
      });
    };
    handler.inputFormat = 'native' as const;
    const server = await startTestServer(handler);
    try {
      const a = await dialTestServer(server);
      await waitUntil(() => server.stream.rooms.get('talk')?.size === 1, 3000, 'A in the room');
      const b = await dialTestServer(server);
      await sendPaced(40, (i) => {
        a.sendMedia(mulawToneFrame(600, i));
        b.sendMedia(mulawToneFrame(1000, i));
      });
      const atA = toneLevels(lastMs(decodeMulaw(a.receivedAudio()), 8000, 600), 8000, [1000, 1400, 1800]);
      const atB = toneLevels(lastMs(decodeMulaw(b.receivedAudio()), 8000, 600), 8000, [600, 1400, 1800]);
      expect(atA[1800], 'A hears what its handler said to it').to.be.above(1500);
      expect(atA[1400], 'A hears what its handler said to the room').to.be.above(1500);
      expect(atA[1000], 'A hears B meanwhile').to.be.above(1500);
      expect(atB[1400], 'B hears what A\'s handler said to the room').to.be.above(1500);
      expect(atB[600], 'B hears A').to.be.above(1500);
      expect(atB[1800], 'B does not hear what A\'s handler said to A alone').to.be.below(50);
      const mix = new Int16Array(mixes.slice(-25).flatMap((f) => [...f]));
      const inMix = toneLevels(mix, 8000, [600, 1000, 1400, 1800]);
      expect(inMix[600]).to.be.above(1500);
      expect(inMix[1000]).to.be.above(1500);
      expect(inMix[1400]).to.be.above(1500);
      expect(inMix[1800], 'ctx.send() is not in the room').to.be.below(50);
      a.close();
      b.close();
    } finally {
      await server.close();
    }
  });
});
