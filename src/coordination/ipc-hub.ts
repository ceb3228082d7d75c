import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { CallstreamError } from '../errors.js';
import type { HubPort } from './hub-port.js';
import type { HubMember } from './hub-port.js';
import { HUB_CALLS, HUB_CASTS, type HubWire, type IpcEnd, isHubWire, toWireError, fromWireError } from './ipc-wire.js';

/**
 * How long the primary waits for a worker to answer an `ask` before giving up on it. The asker's own
 * timeout (3 s by default) comes first; this only keeps a worker that never answers from piling up
 * waiting asks.
 */
export const ASK_BACKSTOP_MS = 60_000;

/** A worker served by `serveHubOverIpc`. */
export interface ServedWorker {
  /** The instances the worker attached and has not detached. */
  readonly instanceIds: readonly string[];
  /**
   * The worker is gone: asks waiting for it fail with COORDINATION_UNAVAILABLE and its instances
   * leave the hub. With `release` (it exited cleanly after draining) their places and claims are
   * given back at once; without (a crash) they lapse with their leases, as in a Redis cluster.
   */
  end(release: boolean): void;
}

interface WaitingAsk {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/**
 * In a node:cluster primary: serves the hub to one worker over its IPC channel (`workerEnd(worker)`).
 * The worker's calls are answered in the order they come; asks for keys its instances hold, and the
 * messages of every topic, are delivered to it. When the channel closes, asks waiting for the worker
 * fail at once (the asker gets COORDINATION_UNAVAILABLE, never a hang); what it held stays until
 * `end()` says whether to give it back.
 */
export function serveHubOverIpc(hub: HubPort, worker: IpcEnd, options: { clock?: Clock } = {}): ServedWorker {
  const clock = options.clock ?? systemClock;
  const attached = new Set<string>();
  const waiting = new Map<number, WaitingAsk>();
  let nextAsk = 1;
  let closed = false;

  const gone = (key: string) => new CallstreamError('COORDINATION_UNAVAILABLE', `The worker holding "${key.slice(0, 128)}" stopped before answering.`);
  const failWaiting = () => {
    for (const ask of waiting.values()) {
      ask.timer.cancel();
      ask.reject(new CallstreamError('COORDINATION_UNAVAILABLE', 'The worker stopped before answering.'));
    }
    waiting.clear();
  };

  const member = (instanceId: string): HubMember => ({
    onMessage: (key, message) => {
      if (closed) throw gone(key);
      return new Promise((resolve, reject) => {
        const id = nextAsk++;
        const timer = clock.after(ASK_BACKSTOP_MS, () => {
          waiting.delete(id);
          reject(new CallstreamError('COORDINATION_UNAVAILABLE', `The worker holding "${key.slice(0, 128)}" did not answer.`));
        });
        waiting.set(id, { resolve, reject, timer });
        worker.send({ hub: 'ask', id, to: instanceId, key, message });
      });
    },
    onTopic: (topic, message) => {
      if (!closed) worker.send({ hub: 'topic', to: instanceId, topic, message });
    },
  });

  const call = async (id: number, method: string, args: unknown[]) => {
    try {
      if (!(HUB_CALLS as readonly string[]).includes(method)) throw new CallstreamError('BAD_REQUEST', `Unknown hub call "${method.slice(0, 40)}".`);
      const value = await (hub[method as keyof HubPort] as (...args: unknown[]) => unknown).apply(hub, args);
      worker.send({ hub: 'result', id, value });
    } catch (error) {
      worker.send({ hub: 'result', id, error: toWireError(error) });
    }
  };

  const cast = (method: string, args: unknown[]) => {
    if (method === 'attach') {
      const instanceId = String(args[0]);
      attached.add(instanceId);
      hub.attach(instanceId, member(instanceId));
    } else if (method === 'detach') {
      attached.delete(String(args[0]));
      hub.detach(String(args[0]), args[1] === true);
    } else if ((HUB_CASTS as readonly string[]).includes(method)) {
      (hub[method as keyof HubPort] as (...args: unknown[]) => unknown).apply(hub, args);
    }
  };

  const settle = (message: Extract<HubWire, { hub: 'answer' }>) => {
    const ask = waiting.get(message.id);
    if (!ask) return;
    waiting.delete(message.id);
    ask.timer.cancel();
    if (message.error) ask.reject(fromWireError(message.error));
    else ask.resolve(message.value);
  };

  worker.onMessage((message) => {
    if (!isHubWire(message) || closed) return;
    if (message.hub === 'call') void call(message.id, message.method, message.args);
    else if (message.hub === 'cast') cast(message.method, message.args);
    else if (message.hub === 'answer') settle(message);
  });
  worker.onClose(() => {
    closed = true;
    failWaiting();
  });

  return {
    get instanceIds() {
      return [...attached];
    },
    end(release) {
      closed = true;
      failWaiting();
      for (const instanceId of attached) hub.detach(instanceId, release);
      attached.clear();
    },
  };
}
