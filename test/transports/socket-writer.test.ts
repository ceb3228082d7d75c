import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { ClientFaults } from '../../src/client-faults.js';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { SocketWriter } from '../../src/transports/socket-writer.js';
import { socketLife } from '../support/socket-life.js';

/** A server socket and its client over loopback; `lines` collects what the writer logs. */
async function pair(): Promise<{ server: WebSocket; client: WebSocket; lines: Record<string, unknown>[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  socketLife(client);
  await new Promise((resolve) => client.once('open', resolve));
  const lines: Record<string, unknown>[] = [];
  return {
    server: await accepted,
    client,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        client.terminate();
        wss.close(() => resolve());
      }),
  };
}

function captureLogger(lines: Record<string, unknown>[]) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ level: 'debug', destination });
}

describe('SocketWriter: one bounded way out to a WebSocket peer', () => {
  it('sends messages in order, together ones in one write, and closes with a reason cut to size', async () => {
    const { server, client, lines, close } = await pair();
    const received: string[] = [];
    client.on('message', (data) => received.push(data.toString()));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const writer = new SocketWriter(server, captureLogger(lines), new ClientFaults(systemClock));
    expect(writer.send('one')).to.equal(true);
    writer.sendTogether(['two', 'three']);
    writer.close(1000, 'x'.repeat(300));
    const { code, reason } = await closed;
    expect(received).to.deep.equal(['one', 'two', 'three']);
    expect(code).to.equal(1000);
    expect(Buffer.byteLength(reason)).to.be.at.most(123);
    expect(writer.send('late')).to.equal(false);
    await close();
  });

  it('drops a peer that stopped reading once its unsent bytes pass the bound, and says so once without a stack', async () => {
    const { server, client, lines, close } = await pair();
    (client as unknown as { _socket: Socket })._socket.pause();
    const writer = new SocketWriter(server, captureLogger(lines), new ClientFaults(systemClock), 64 * 1024);
    const message = 'm'.repeat(1024);
    let sent = 0;
    while (writer.send(message)) sent++;
    expect(server.readyState, 'the server side is terminated').to.be.oneOf([WebSocket.CLOSING, WebSocket.CLOSED]);
    // Far past the bound: beyond what loopback buffers hold, plus the bound itself, and no more.
    expect(sent * message.length).to.be.above(64 * 1024);
    for (let i = 0; i < 10; i++) expect(writer.send(message)).to.equal(false);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include({ msg: 'peer dropped: it stopped reading what was sent to it' });
    expect(JSON.stringify(warnings[0])).not.to.contain('\\n    at ');
    await close();
  });
});
