import { randomBytes } from 'node:crypto';
import { MemoryCoordination } from '../../src/coordination/memory.js';
import { MemoryHub } from '../../src/coordination/memory-hub.js';
import type { ClusterOptions, StreamOptions } from '../../src/options.js';
import type { AudioHandler } from '../../src/session/handler.js';
import { type Haproxy, startHaproxy } from './haproxy.js';
import { startTestServer, type TestServer } from './server.js';

/** How the instances of a test cluster share their state. */
export type ClusterKind = { kind: 'memory' } | { kind: 'redis'; url: string };

export interface TestCluster {
  instances: TestServer[];
  /** The balancer's URL (round-robin per connection), when one was asked for. */
  url: string;
  balancer: Haproxy | undefined;
  close(): Promise<void>;
}

export interface ClusterSetup {
  instances?: number;
  /** Put Debian's haproxy in front (round-robin per TCP connection). */
  balancer?: boolean;
  options?: StreamOptions;
}

/**
 * Several instances of one Stream in this process, each with its own server, coordination and (for
 * Redis) its own connections, sharing a MemoryHub or a real Redis under a prefix of their own.
 */
export async function startCluster(handler: () => AudioHandler, kind: ClusterKind, setup: ClusterSetup = {}): Promise<TestCluster> {
  const hub = kind.kind === 'memory' ? new MemoryHub() : undefined;
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  const instances: TestServer[] = [];
  for (let i = 0; i < (setup.instances ?? 2); i++) {
    const instanceId = `instance-${i}`;
    const cluster: ClusterOptions = hub ? { coordination: new MemoryCoordination({ hub, instanceId }) } : { redis: (kind as { url: string }).url, instanceId, prefix };
    const server = await startTestServer(handler(), { ...setup.options, cluster });
    await server.stream.ready();
    instances.push(server);
  }
  const balancer = setup.balancer ? await startHaproxy({ backends: instances.map((s) => s.running.port), check: 'http' }) : undefined;
  return {
    instances,
    url: balancer?.url ?? instances[0]!.url,
    balancer,
    async close() {
      await balancer?.stop();
      await Promise.all(instances.map((server) => server.close()));
    },
  };
}
