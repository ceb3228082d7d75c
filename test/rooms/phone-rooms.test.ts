import { expect } from 'chai';
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
