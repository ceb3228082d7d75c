import type { ClusterOptions } from '../options.js';
import type { ServeSettings } from './serve-settings.js';

/** The Stream's `cluster` option for `callstream serve`: an instance of the Redis cluster, or memory (undefined, or just the instance id). */
export function clusterOption(settings: ServeSettings): ClusterOptions | undefined {
  if (settings.redis) return { redis: settings.redis, instanceId: settings.instanceId };
  return settings.instanceId ? { instanceId: settings.instanceId } : undefined;
}
