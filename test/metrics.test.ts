import { expect } from 'chai';
import { EchoHandler } from '../handlers/index.js';
import { dialTestServer, startTestServer } from './support/server.js';
import { waitUntil } from './support/wait.js';

/** The value of one sample line of the Prometheus text. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('GET /metrics (Prometheus)', function () {
  this.timeout(20000);

  it('counts sessions, frames, handler time and pacing, behind authorize', async () => {
    const server = await startTestServer(new EchoHandler(), { authorize: (ctx) => ctx.get('authorization') === 'Bearer m' });
    try {
      expect((await fetch(`${server.url}/metrics`)).status).to.equal(401);
      const call = await dialTestServer(server);
      for (let i = 0; i < 25; i++) call.sendMedia(Buffer.alloc(160, 0x30));
      await call.waitFor(() => call.receivedAudio().length >= 25 * 160, 3000, 'echo');
      const live = await (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer m' } })).text();
      expect(sample(live, 'callstream_sessions', 'transport="telephone"')).to.equal(1);
      expect(sample(live, 'callstream_frames_in_total', 'transport="telephone"')).to.equal(25);
      expect(sample(live, 'callstream_frames_out_total', 'transport="telephone"')).to.equal(25);
      expect(sample(live, 'callstream_handler_seconds_count', 'transport="telephone"')).to.equal(25);
      expect(live).to.match(/callstream_pacing_lateness_seconds_bucket/);
      expect(live).to.match(/callstream_nodejs_eventloop_lag_seconds \d/);
      call.sendStop();
      await call.closed;
      const scrape = async () => (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer m' } })).text();
      await waitUntil(async () => sample(await scrape(), 'callstream_sessions', 'transport="telephone"') === 0, 2000, 'the gauge back to 0');
    } finally {
      await server.close();
    }
  });
});
