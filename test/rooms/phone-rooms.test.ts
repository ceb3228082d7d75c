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
