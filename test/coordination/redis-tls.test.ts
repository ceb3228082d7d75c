import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import { Stream } from '../../src/stream.js';
import { freePort, spawnTestProcess, type TestProcess, waitReady } from '../support/child-process.js';
import { rejection } from '../support/rejection.js';

/** A rediss:// server with a self-signed certificate, as Heroku Redis gives. */
describe('cluster over rediss:// with a self-signed certificate', function () {
  this.timeout(20000);
  let dir: string;
  let redis: TestProcess;
  let url: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'callstream-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const port = await freePort();
    redis = spawnTestProcess('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', path.join(dir, 'cert.pem'), '--tls-key-file', path.join(dir, 'key.pem'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no']);
    await waitReady(redis, 'redis-server (TLS)', async () => redis.output().includes('Ready to accept connections'));
    url = `rediss://127.0.0.1:${port}`;
  });

  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const stream = (tls?: { rejectUnauthorized: boolean }) =>
    new Stream(new EchoHandler(), { logger: createLogger({ level: 'silent' }), twilio: false, cluster: { redis: url, ...(tls ? { tls } : {}) } });

  it('refuses the certificate by default: ready() rejects with COORDINATION_UNAVAILABLE', async () => {
    const verified = stream();
    expect((await rejection(verified.ready())).code).to.equal('COORDINATION_UNAVAILABLE');
    await verified.shutdown();
  });

  it('connects with tls.rejectUnauthorized false, and shares places through it', async () => {
    const insecure = stream({ rejectUnauthorized: false });
    await insecure.ready();
    const place = await insecure.coordination.acquirePlace('websocket', 5);
    expect(place).to.not.equal(undefined);
    expect((await insecure.status()).reserved).to.equal(1);
    place!.release();
    await insecure.shutdown();
  });
});
