import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { Stream } from '../../src/stream.js';
import { runCli } from '../support/cli.js';
import { startTestServer } from '../support/server.js';
import { count, reportAfter, tally } from '../support/tally.js';

const counts = tally('metrics access');
const TOKEN = 'metrics-token-2c9f0e7a';

const metrics = (url: string, authorization?: string) => fetch(`${url}/metrics`, { headers: authorization ? { Authorization: authorization } : {} });

describe('security: who may read /metrics', function () {
  this.timeout(20000);
  reportAfter('metrics access', counts);

  it('is public without authorize or metricsToken (as documented)', async () => {
    const server = await startTestServer(new EchoHandler());
    try {
      expect((await metrics(server.url)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('refuses a metricsToken that cannot be sent in a header', () => {
    for (const bad of ['', 'two words', 'line\nbreak', 'é']) {
      expect(() => new Stream(new EchoHandler(), { metricsToken: bad }), JSON.stringify(bad)).to.throw(/metricsToken/);
    }
  });

  it('with metricsToken, asks for Authorization: Bearer <token> and serves nothing without it', async () => {
    const server = await startTestServer(new EchoHandler(), { metricsToken: TOKEN, rateLimit: false });
    try {
      for (const given of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, `Bearer  ${TOKEN}`]) {
        const response = await metrics(server.url, given);
        expect(response.status, String(given)).to.equal(401);
        expect(response.headers.get('www-authenticate')).to.match(/^Bearer/);
        expect(await response.text()).not.to.contain('callstream_');
        count(counts, 'refused');
      }
      const allowed = await metrics(server.url, `Bearer ${TOKEN}`);
      expect(allowed.status).to.equal(200);
      expect(await allowed.text()).to.contain('callstream_');
      expect((await metrics(server.url, `bearer ${TOKEN}`)).status, 'the scheme is case-insensitive').to.equal(200);
      // Only /metrics: the page and the status route are as before.
      expect((await fetch(`${server.url}/status`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('the demo server (callstream serve) guards /metrics with METRICS_TOKEN', async () => {
    const cli = runCli(['serve', '--handler', 'echo', '--host', '127.0.0.1', '--port', '0'], { METRICS_TOKEN: TOKEN, DRAIN_MS: '0' });
    try {
      const line = await cli.waitForLine(/demo server listening/);
      const url = (JSON.parse(line) as { url: string }).url;
      expect((await metrics(url)).status).to.equal(401);
      expect((await metrics(url, `Bearer ${TOKEN}`)).status).to.equal(200);
      expect(cli.lines.join('\n')).not.to.contain('/metrics is public');
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('the demo server without METRICS_TOKEN says that /metrics is public', async () => {
    const cli = runCli(['serve', '--handler', 'echo', '--host', '127.0.0.1', '--port', '0'], { METRICS_TOKEN: '', DRAIN_MS: '0' });
    try {
      await cli.waitForLine(/demo server listening/);
      const warning = cli.lines.map((line) => JSON.parse(line) as { level: number; msg: string }).find((line) => line.msg.includes('/metrics is public'));
      expect(warning, 'a warning that /metrics is public').to.include({ level: 40 });
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
