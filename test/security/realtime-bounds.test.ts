/**
 * A Realtime client's `session.update`s are kept (and echoed back in `session.updated`): each one
 * adds its fields, so a client sending new fields in every update grew its connection's memory
 * without end (issue 22, item 2: Realtime items). The configuration kept is bounded.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { EchoHandler } from '../../handlers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Event = { type: string } & Record<string, unknown>;

describe('security: what a Realtime client sends is kept within bounds', function () {
  this.timeout(20_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer(new EchoHandler(), { rateLimit: false });
  });

  after(async () => {
    await server.close();
  });

  it('closes (1008, invalid_value) a client whose session.updates add up to more than 16 KiB of configuration', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/realtime`);
    const events: Event[] = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as Event));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let sent = 0;
    // Each update within the 64 KiB message limit; new fields every time.
    const sending = (async () => {
      for (; sent < 40 && ws.readyState === WebSocket.OPEN; sent++) {
        ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', [`field_${sent}`]: 'x'.repeat(6000) } }));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const code = await Promise.race([closed, sending.then(() => new Promise<number>((resolve) => setTimeout(() => resolve(0), 2000)))]);
    ws.close();
    expect(code, `close code after ${sent} updates (events: ${events.map((e) => e.type).join(', ')})`).to.equal(1008);
    const error = events.find((event) => event.type === 'error') as { error: { code: string } } | undefined;
    expect(error?.error.code).to.equal('invalid_value');
    // Two updates of 6,000 characters fit; the third does not.
    expect(events.filter((event) => event.type === 'session.updated')).to.have.length(2);
  });
});
