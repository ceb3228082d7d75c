import net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import Koa from 'koa';
import { EchoHandler } from '../handlers/index.js';
import { CallstreamError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/logger.js';
import { listen, type RunningServer } from '../src/server.js';
import { Stream } from '../src/stream.js';

/** A logger whose lines land, parsed, in `lines`. */
function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ level: 'info', destination });
}

describe('listen(): the server of an app, and the one line that says where it answers', function () {
  this.timeout(10000);
  let running: RunningServer | undefined;
  let stream: Stream | undefined;

  afterEach(async () => {
    await running?.close();
    await stream?.shutdown();
    running = undefined;
    stream = undefined;
  });

  it("logs one line, through the mounted Stream's logger, with the URL and the Stream's page, which answers", async () => {
    const lines: Record<string, unknown>[] = [];
    stream = new Stream(new EchoHandler(), { logger: capturingLogger(lines), twilio: false, twilioAuthToken: 'x' });
    const app = new Koa();
    stream.mount(app, '/voice');
    running = await listen(app, '127.0.0.1', 0);
    const said = lines.filter((line) => String(line.msg).startsWith('listening'));
    expect(said).to.have.length(1);
    expect(said[0]!.msg).to.equal(`listening on ${running.url}`);
    expect(said[0]!.url).to.equal(`http://127.0.0.1:${running.port}`);
    expect(said[0]!.pages).to.deep.equal([`${running.url}/voice/`]);
    expect((await fetch(`${running.url}/voice/`)).status).to.equal(200);
  });

  it('says nothing with announce: false, or for an app with no Stream mounted', async () => {
    const lines: Record<string, unknown>[] = [];
    stream = new Stream(new EchoHandler(), { logger: capturingLogger(lines), twilio: false, twilioAuthToken: 'x' });
    const app = new Koa();
    stream.mount(app);
    running = await listen(app, '127.0.0.1', 0, { announce: false });
    expect(lines.filter((line) => String(line.msg).startsWith('listening'))).to.deep.equal([]);
    const bare = await listen(new Koa(), '127.0.0.1', 0);
    await bare.close();
  });

  it('rejects a port in use with a CONFIG_ERROR that names the port and how to pick another', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const error = await listen(new Koa(), '127.0.0.1', port).then(
        () => expect.fail('listened on a taken port'),
        (caught: unknown) => caught,
      );
      expect(error).to.be.instanceOf(CallstreamError);
      expect((error as CallstreamError).code).to.equal('CONFIG_ERROR');
      expect((error as CallstreamError).message).to.equal(`port ${port} is in use on 127.0.0.1 (EADDRINUSE).`);
      expect((error as CallstreamError).hint).to.equal("another program listens there: pick another port with listen()'s port; 0 picks a free one.");
      expect(((error as CallstreamError).cause as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
    } finally {
      taken.close();
    }
  });
});
