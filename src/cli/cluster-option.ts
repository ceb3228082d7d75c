import cluster from 'node:cluster';
import os from 'node:os';
import { IpcHubPort } from '../coordination/ipc-port.js';
import { processEnd } from '../coordination/ipc-wire.js';
import { MemoryCoordination } from '../coordination/memory.js';
import type { ClusterOptions } from '../options.js';
import type { ServeSettings } from './serve-settings.js';

/** Set by the primary for its workers: the base of their instance ids (see `workerInstanceId`). */
export const INSTANCE_BASE_ENV = 'CALLSTREAM_INSTANCE_BASE';

/** The base of the workers' instance ids: the one asked for, else this host and the primary's pid. */
export function instanceBase(settings: ServeSettings): string {
  return settings.instanceId ?? `${os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 60)}-${process.pid}`;
}

/** A worker's instance id: the base and the worker's number (node:cluster's, never reused while the primary lives). */
export function workerInstanceId(base: string, workerId: number): string {
  return `${base}.w${workerId}`;
}

/** True in a worker forked by `callstream serve --workers` (not merely in any node:cluster worker). */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[INSTANCE_BASE_ENV] !== undefined;
}

/**
 * The Stream's `cluster` option for `callstream serve`: with Redis, an instance of the Redis cluster;
 * in a worker without Redis, an instance of the hub its primary holds (over IPC); otherwise memory
 * (undefined, or just the instance id).
 */
export function clusterOption(settings: ServeSettings): ClusterOptions | undefined {
  const tls = settings.redisTlsRejectUnauthorized ? {} : { tls: { rejectUnauthorized: false } };
  if (!isServeWorker()) {
    if (settings.redis) return { redis: settings.redis, instanceId: settings.instanceId, ...tls };
    return settings.instanceId ? { instanceId: settings.instanceId } : undefined;
  }
  const instanceId = workerInstanceId(process.env[INSTANCE_BASE_ENV]!, cluster.worker!.id);
  if (settings.redis) return { redis: settings.redis, instanceId, ...tls };
  return { coordination: new MemoryCoordination({ hub: new IpcHubPort(processEnd()), instanceId }) };
}
