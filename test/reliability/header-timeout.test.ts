import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { EchoHandler } from '../../handlers/index.js';
import { createHttpServer } from '../../src/server.js';
import { startTestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';

const counts = tally('header timeout');

/** Sends a request's headers a byte every 50 ms; resolves with when (ms) and how the server cut it. */
function dripHeaders(port: number, giveUpMs: number): Promise<{ afterMs: number; response: string }> {
  return new Promise((resolve) => {
    const text = `GET /status HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(10_000)}`;
    const socket = net.connect(port, '127.0.0.1');
    const started = performance.now();
    let response = '';
    let i = 0;
    const drip = setInterval(() => socket.writable && socket.write(text[i++] ?? 'a'), 50);
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (data) => (response += data.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(giveUp);
      resolve({ afterMs: performance.now() - started, response });
    });
  });
}

/** Node keeps the option on the server, untyped. */
const checkingInterval = (server: http.Server) => (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval;

describe('reliability: the header and request timeouts hold as stated', function () {
  this.timeout(15000);
  reportAfter('header timeout', counts);

  it('checks connections often enough for the timeouts: 10 s for headers means at most about 11 s', () => {
    const server = createHttpServer(new Koa());
    expect(server.headersTimeout).to.equal(10_000);
    expect(server.requestTimeout).to.equal(30_000);
    expect(checkingInterval(server), 'connectionsCheckingInterval (ms)').to.be.at.most(1000);
    const shorter = createHttpServer(new Koa(), { headersTimeout: 500, requestTimeout: 1000 });
    expect(checkingInterval(shorter)).to.be.at.most(100);
    const given = createHttpServer(new Koa(), { connectionsCheckingInterval: 5000 } as http.ServerOptions);
    expect(checkingInterval(given), 'an explicit interval is kept').to.equal(5000);
  });

  it('cuts headers that never end at the headers timeout, not at the next 30 s check', async () => {
    const server = await startTestServer(new EchoHandler(), { rateLimit: false }, { serverOptions: { headersTimeout: 500, requestTimeout: 1000 } });
    try {
      const outcome = await dripHeaders(server.running.port, 10_000);
      count(counts, 'ms to cut slow headers (timeout 500 ms)', Math.round(outcome.afterMs));
      expect(outcome.response).to.match(/^HTTP\/1\.1 408/);
      expect(outcome.afterMs).to.be.within(450, 1000);
    } finally {
      await server.close();
    }
  });
});
