import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../support/cli.js';
import { freePort, spawnTestProcess, type TestProcess } from '../support/child-process.js';
import { waitUntil } from '../support/wait.js';

/** GET `path` on a connection of its own (haproxy balances per connection); resolves with the status, 0 when refused. */
function status(port: number, urlPath = '/health'): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

interface Listening {
  instanceId: string;
  pid: number;
}

/** The instances' "listening" log lines so far, in order. */
function listening(cluster: TestProcess): Listening[] {
  return cluster
    .output()
    .split('\n')
    .filter((line) => line.includes('"callstream demo server listening"'))
    .map((line) => JSON.parse(line) as Listening);
}

/**
 * The local cluster as a person runs it (deploy/local-cluster.sh: Redis, three instances of the built
 * server, haproxy), on free ports: one instance killed with SIGKILL, the balancer and the other two
 * keep answering, the script says so and restarts it, and Ctrl-C (SIGTERM here) stops it all.
 */
describe('deploy/local-cluster.sh: an instance that dies is restarted, the others serve on', function () {
  this.timeout(180_000);
  let cluster: TestProcess | undefined;
  let ports: { lb: number; instances: number[]; redis: number };

  before(async () => {
    if (!existsSync(path.join(ROOT, 'dist/src/cli/main.js'))) await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: ROOT });
    ports = { lb: await freePort(), instances: [await freePort(), await freePort(), await freePort()], redis: await freePort() };
    cluster = spawnTestProcess('bash', ['deploy/local-cluster.sh'], {
      cwd: ROOT,
      detached: true,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LB_PORT: String(ports.lb),
        INSTANCE_PORTS: ports.instances.join(' '),
        REDIS_PORT: String(ports.redis),
        CALLSTREAM_HANDLER: 'echo',
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
    });
    await waitUntil(() => listening(cluster!).length >= 3, 60_000, `three instances listening; output:\n${cluster.output()}`);
  });

  after(async () => {
    if (cluster?.running()) {
      try {
        process.kill(-cluster.child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });

  it('keeps answering through the balancer and the other instances while one is dead, and brings it back', async () => {
    await waitUntil(async () => (await status(ports.lb)) === 200, 10_000, 'the balancer answering');
    const victim = listening(cluster!).find((line) => line.instanceId === 'i2')!;
    process.kill(victim.pid, 'SIGKILL');
    await waitUntil(async () => (await status(ports.instances[1]!)) === 0, 5000, 'i2 gone');

    // While it is dead (and until haproxy's checks notice): every request is answered.
    const answers: number[] = [];
    for (let i = 0; i < 12; i++) answers.push(await status(ports.lb), await status(ports.instances[0]!), await status(ports.instances[2]!));
    expect(answers.filter((code) => code !== 200)).to.deep.equal([]);

    await waitUntil(() => cluster!.output().includes(`local-cluster: instance i2 (port ${ports.instances[1]}) exited (status 137); restarting it`), 10_000, 'the restart line');
    await waitUntil(() => listening(cluster!).some((line) => line.instanceId === 'i2' && line.pid !== victim.pid), 60_000, `i2 listening again; output:\n${cluster!.output().slice(-3000)}`);
    await waitUntil(async () => (await status(ports.instances[1]!)) === 200, 10_000, 'i2 answering again');
    expect(cluster!.running()).to.equal(true);
  });

  it('stops everything on SIGTERM (as on Ctrl-C), with exit 0', async () => {
    await cluster!.stop('SIGTERM');
    expect(cluster!.child.exitCode).to.equal(0);
    for (const port of [ports.lb, ...ports.instances, ports.redis]) expect(await status(port), `port ${port}`).to.equal(0);
  });
});
