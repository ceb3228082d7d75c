import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ClusterOptions } from '../options.js';
import type { Coordination } from './coordination.js';
import { MemoryCoordination } from './memory.js';
import { CallstreamError } from '../errors.js';

/** The coordination a Stream uses: the given one, Redis when a cluster is configured, else memory. */
export function createCoordination(cluster: ClusterOptions | undefined, logger: Logger, clock: Clock): Coordination {
  if (cluster?.coordination) return cluster.coordination;
  if (cluster?.redis) {
    void logger;
    throw new CallstreamError('CONFIG_ERROR', 'cluster.redis: the Redis coordination is not in this build yet.');
  }
  return new MemoryCoordination({ clock, instanceId: cluster?.instanceId });
}
