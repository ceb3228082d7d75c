import type { Worker } from 'node:cluster';
import { CallstreamError, type ErrorCode } from '../errors.js';
import type { BusMessage } from './coordination.js';

/**
 * The messages between a node:cluster primary holding a `MemoryHub` and its workers (JSON over the
 * IPC channel). Every one carries `hub` (its kind), so other messages on the channel pass by.
 *
 * worker → primary: `call` (answered by `result`), `cast` (fire-and-forget), `answer` (to an `ask`).
 * primary → worker: `result`, `ask` (a message for a key one of the worker's instances holds),
 * `topic` (a published message, for each of the worker's instances).
 */
export type HubWire =
  | { hub: 'call'; id: number; method: HubCallMethod; args: unknown[] }
  | { hub: 'cast'; method: HubCastMethod; args: unknown[] }
  | { hub: 'result'; id: number; value?: unknown; error?: WireError }
  | { hub: 'ask'; id: number; to: string; key: string; message: BusMessage }
  | { hub: 'answer'; id: number; value?: unknown; error?: WireError }
  | { hub: 'topic'; to: string; topic: string; message: BusMessage };

/** Hub methods a worker calls and waits for. */
export const HUB_CALLS = ['acquirePlace', 'counts', 'announceCall', 'rememberCall', 'takeCall', 'claim', 'ask', 'hit', 'retryAfterMs'] as const;
export type HubCallMethod = (typeof HUB_CALLS)[number];

/** Hub methods a worker calls without waiting (their effects keep the channel's order). */
export const HUB_CASTS = ['attach', 'detach', 'releasePlace', 'unclaim', 'renew', 'publish'] as const;
export type HubCastMethod = (typeof HUB_CASTS)[number];

/** An error as it crosses the channel: a CallstreamError keeps its code, message and hint. */
export interface WireError {
  message: string;
  code?: ErrorCode;
  hint?: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof CallstreamError) return { message: error.message, code: error.code, ...(error.hint ? { hint: error.hint } : {}) };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function fromWireError(error: WireError): Error {
  return error.code ? new CallstreamError(error.code, error.message, error.hint ? { hint: error.hint } : undefined) : new Error(error.message);
}

export function isHubWire(message: unknown): message is HubWire {
  return typeof message === 'object' && message !== null && typeof (message as { hub?: unknown }).hub === 'string';
}

/**
 * One end of an IPC channel, as the hub's two sides use it: a worker seen from the primary
 * (`workerEnd`), the primary seen from a worker (`processEnd`), or a fake pair in tests.
 */
export interface IpcEnd {
  /** Sends a message; one sent on a closed channel is dropped (never throws). */
  send(message: HubWire): void;
  /** Listens to every message coming in. */
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the channel closes (the other side exited or disconnected). */
  onClose(listener: () => void): void;
}

const ignore = () => {};

/** A node:cluster worker's channel, from the primary. */
export function workerEnd(worker: Worker): IpcEnd {
  return {
    send: (message) => {
      if (worker.isConnected()) worker.send(message, ignore);
    },
    onMessage: (listener) => worker.on('message', listener),
    onClose: (listener) => {
      let closed = false;
      const once = () => {
        if (closed) return;
        closed = true;
        listener();
      };
      worker.once('disconnect', once);
      worker.once('exit', once);
    },
  };
}

/** This process's channel to its parent (in a node:cluster worker: the primary). */
export function processEnd(proc: NodeJS.Process = process): IpcEnd {
  return {
    send: (message) => {
      if (proc.connected && proc.send) proc.send(message, undefined, undefined, ignore);
    },
    onMessage: (listener) => proc.on('message', listener),
    onClose: (listener) => proc.once('disconnect', listener),
  };
}
