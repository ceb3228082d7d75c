import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { serveHubOverIpc, type ServedWorker } from '../coordination/ipc-hub.js';
import { workerEnd } from '../coordination/ipc-wire.js';
import { MemoryHub } from '../coordination/memory-hub.js';
import { createLogger, type Logger } from '../logger.js';
import { INSTANCE_BASE_ENV, instanceBase, workerInstanceId } from './cluster-option.js';
import { EXIT } from './exit.js';
import type { ServeSettings } from './serve-settings.js';

/** The first restart of a worker that died comes after this long, doubled for each quick death in a row (ms). */
export const RESTART_BASE_MS = 500;
export const RESTART_MAX_MS = 15_000;
/** A worker that lived this long before it died was not dying in a loop: its restart delay starts over (ms). */
const STABLE_MS = 30_000;

interface Slot {
  worker: Worker | undefined;
  served: ServedWorker | undefined;
  startedAt: number;
  listening: boolean;
  /** Deaths in a row, each within STABLE_MS of its start. */
  quickDeaths: number;
  restart: NodeJS.Timeout | undefined;
}

/**
 * `callstream serve --workers N`, in the node:cluster primary: forks N workers that share the port
 * (node:cluster hands connections round-robin), restarts one that dies (with a backoff, never while
 * stopping), forwards SIGTERM/SIGINT so each drains, and exits 0 once all have. Without Redis the
 * primary holds the MemoryHub the workers coordinate through (ipc-hub.ts); a worker that exits after
 * draining gives its places back at once, one that dies leaves them to lapse with their leases.
 * A worker that cannot start (before all first listened) stops them all, with its exit code.
 */
export class WorkerPool {
  private readonly hub: MemoryHub | undefined;
  private readonly base: string;
  private readonly slots: Slot[];
  private stopping = false;
  /** Every worker of the first start listened. */
  private serving = false;
  private exitCode: number = EXIT.OK;

  constructor(
    private readonly settings: ServeSettings,
    private readonly logger: Logger = createLogger(),
  ) {
    this.hub = settings.redis ? undefined : new MemoryHub();
    this.base = instanceBase(settings);
    this.slots = Array.from({ length: settings.workers }, () => ({
      worker: undefined,
      served: undefined,
      startedAt: 0,
      listening: false,
      quickDeaths: 0,
      restart: undefined,
    }));
  }

  start(): void {
    this.logger.info({ workers: this.slots.length, coordination: this.hub ? 'memory (this primary)' : 'redis', instanceBase: this.base }, 'starting workers');
    for (const slot of this.slots) this.fork(slot);
    process.on('SIGINT', (signal) => this.stop(signal));
    process.on('SIGTERM', (signal) => this.stop(signal));
  }

  /** First signal: every worker drains. A second one: they are killed at once. */
  stop(signal: NodeJS.Signals): void {
    if (this.stopping) {
      this.logger.warn({ signal }, `${signal} again: killing the workers at once`);
      for (const { worker } of this.slots) worker?.process.kill('SIGKILL');
      process.exit(EXIT.FAILURE);
    }
    this.stopping = true;
    this.logger.info({ signal }, 'stopping: each worker drains its sessions');
    for (const slot of this.slots) {
      clearTimeout(slot.restart);
      slot.worker?.process.kill(signal);
    }
    this.finishIfDone();
  }

  private fork(slot: Slot): void {
    slot.restart = undefined;
    const worker = cluster.fork({ [INSTANCE_BASE_ENV]: this.base });
    slot.worker = worker;
    slot.served = this.hub && serveHubOverIpc(this.hub, workerEnd(worker));
    slot.startedAt = Date.now();
    slot.listening = false;
    worker.once('listening', (address: AddressInfo) => {
      slot.listening = true;
      if (this.serving || !this.slots.every((s) => s.listening)) return;
      this.serving = true;
      this.logger.info({ port: address.port, workers: this.slots.length }, 'callstream workers serving');
    });
    worker.once('exit', (code, signal) => this.exited(slot, worker, code, (signal as NodeJS.Signals) || null));
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    slot.served?.end(code === 0);
    slot.worker = undefined;
    slot.served = undefined;
    const instanceId = workerInstanceId(this.base, worker.id);
    if (this.stopping) {
      if (code !== 0 && this.exitCode === EXIT.OK) this.exitCode = EXIT.FAILURE;
      this.logger.info({ instanceId, code, signal }, 'worker stopped');
      return this.finishIfDone();
    }
    if (!this.serving && !slot.listening) {
      this.logger.error({ instanceId, code, signal }, 'a worker could not start: stopping the others');
      this.exitCode = code || EXIT.FAILURE;
      return this.stop('SIGTERM');
    }
    const lived = Date.now() - slot.startedAt;
    slot.quickDeaths = lived >= STABLE_MS ? 1 : slot.quickDeaths + 1;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.quickDeaths - 1));
    this.logger.error({ instanceId, code, signal, livedMs: lived, restartInMs: delayMs }, 'worker died: restarting it');
    slot.restart = setTimeout(() => this.fork(slot), delayMs);
  }

  private finishIfDone(): void {
    if (this.slots.some((slot) => slot.worker)) return;
    this.logger.info({ code: this.exitCode }, 'all workers stopped');
    process.exit(this.exitCode);
  }
}
