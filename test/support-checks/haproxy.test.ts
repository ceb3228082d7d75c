import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHaproxy } from '../support/haproxy.js';

/** A tiny backend: answers its name, and `/health` with `healthStatus`. */
async function backend(name: string): Promise<{ port: number; healthStatus: number; close(): Promise<void> }> {
  const state = { healthStatus: 200 };
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/health' ? state.healthStatus : 200;
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}

/** One request on a new connection (the balancer picks a backend per connection). */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('test support: haproxy', () => {
  it('balances connections round-robin and takes a dead backend out of rotation', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const balancer = await startHaproxy({ backends: [a.port, b.port] });
    try {
      await balancer.waitForStates((states) => states.every((s) => s === 'UP'));
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await get(balancer.url));
      expect(answers.slice().sort()).to.deep.equal(['a', 'a', 'b', 'b']);
      expect(answers[0]).to.not.equal(answers[1]);
      expect(answers[2]).to.not.equal(answers[3]);

      await b.close();
      await balancer.waitForStates((states) => states[1]!.startsWith('DOWN'), 3000);
      for (let i = 0; i < 3; i++) expect(await get(balancer.url)).to.equal('a');
    } finally {
      await balancer.stop();
      await a.close();
      await b.close();
    }
  });

  it('with http checks, takes a backend whose health route answers 503 out of rotation, and back', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const balancer = await startHaproxy({ backends: [a.port, b.port], check: 'http' });
    try {
      await balancer.waitForStates((states) => states.every((s) => s === 'UP'));
      a.healthStatus = 503;
      await balancer.waitForStates((states) => states[0]!.startsWith('DOWN'), 3000);
      for (let i = 0; i < 3; i++) expect(await get(balancer.url)).to.equal('b');
      a.healthStatus = 200;
      await balancer.waitForStates((states) => states[0] === 'UP', 3000);
    } finally {
      await balancer.stop();
      await a.close();
      await b.close();
    }
  });
});
