import { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ClusterOptions } from '../options.js';
import type { Coordination } from './coordination.js';
import { MemoryCoordination } from './memory.js';
import { RedisCoordination } from './redis.js';

/** The coordination a Stream uses: the given one, Redis when a cluster is configured, else memory. */
export function createCoordination(cluster: ClusterOptions | undefined, logger: Logger, clock: Clock): Coordination {
  if (cluster?.coordination) return cluster.coordination;
  if (cluster?.redis) {
    // A template client that never connects itself: RedisCoordination opens its own copies of it.
    const redis = typeof cluster.redis === 'string' && cluster.tls ? new Redis(cluster.redis, { lazyConnect: true, tls: cluster.tls }) : cluster.redis;
    return new RedisCoordination({ redis, instanceId: cluster.instanceId, prefix: cluster.prefix, logger: logger.child({ component: 'coordination' }) });
  }
  return new MemoryCoordination({ clock, instanceId: cluster?.instanceId });
}
