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
    return new RedisCoordination({ redis: cluster.redis, instanceId: cluster.instanceId, prefix: cluster.prefix, logger: logger.child({ component: 'coordination' }) });
  }
  return new MemoryCoordination({ clock, instanceId: cluster?.instanceId });
}
