import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CallstreamError, describeError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BusMessage, Delivery, MessageHandler } from './coordination.js';
import { unavailable, withTimeout } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * The messages of RedisCoordination's bus, on each instance's channel: an ask for a key that instance
 * claimed, and the reply on the asker's channel, matched by `id`. A handler's CallstreamError travels
 * as its code and message; `gone` says the key is no longer held there.
 */
export interface AskWire {
  t: 'ask';
  id: string;
  /** The asker's instanceId (its channel gets the reply). */
  from: string;
  key: string;
  message: BusMessage;
}

export type ReplyWire =
  | { t: 'reply'; id: string; ok: true; value: unknown }
  | { t: 'reply'; id: string; ok: false; code: ErrorCode; message: string }
  | { t: 'reply'; id: string; gone: true };

/** Reads a bus message; undefined when it is not one. */
export function decodeWire(text: string): AskWire | ReplyWire | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof wire !== 'object' || wire === null) return undefined;
  const { t, id } = wire as { t?: unknown; id?: unknown };
  if (typeof id !== 'string') return undefined;
  if (t === 'reply') return wire as ReplyWire;
  if (t !== 'ask') return undefined;
  const { from, key, message } = wire as Partial<AskWire>;
  const isMessage = typeof message === 'object' && message !== null && typeof message.type === 'string';
  return typeof from === 'string' && typeof key === 'string' && isMessage ? (wire as AskWire) : undefined;
}

/** A handler's answer as the JSON value every asker gets, near or far (nothing: null). Throws when it is not JSON. */
function asJsonValue(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** What a handler threw, as the CallstreamError the asker sees (HANDLER_ERROR unless it had a code). */
export function asCallstreamError(error: unknown): CallstreamError {
  if (error instanceof CallstreamError) return error;
  return new CallstreamError('HANDLER_ERROR', `The message handler failed: ${describeError(error)}`, { cause: error });
}

/** Milliseconds left until `deadline` (performance.now() scale), at least 1. */
export function remainingMs(deadline: number): number {
  return Math.max(1, Math.ceil(deadline - performance.now()));
}

interface Waiting {
  resolve(delivery: Delivery | 'gone'): void;
  reject(error: CallstreamError): void;
  timer: NodeJS.Timeout;
}

/** Asks sent and not yet answered, each with its deadline. */
class PendingAsks {
  private readonly waiting = new Map<string, Waiting>();

  /** Resolves with the reply to `ask` (or `gone`), or rejects COORDINATION_UNAVAILABLE at `deadline`. */
  wait(ask: AskWire, owner: string, deadline: number): Promise<Delivery | 'gone'> {
    return new Promise((resolve, reject) => {
      const ms = remainingMs(deadline);
      const timer = setTimeout(
        () => this.fail(ask.id, new CallstreamError('COORDINATION_UNAVAILABLE', `Instance ${owner}, holding ${ask.key}, did not answer within ${ms} ms.`)),
        ms,
      );
      this.waiting.set(ask.id, { resolve, reject, timer });
    });
  }

  /** Settles an ask with its reply (a reply nobody waits for any more is dropped). */
  settle(reply: ReplyWire): void {
    const waiting = this.take(reply.id);
    if (!waiting) return;
    if ('gone' in reply) return waiting.resolve('gone');
    if (reply.ok) return waiting.resolve({ kind: 'replied', value: reply.value ?? null });
    waiting.reject(new CallstreamError(reply.code, reply.message));
  }

  fail(id: string, error: CallstreamError): void {
    this.take(id)?.reject(error);
  }

  failAll(error: CallstreamError): void {
    for (const id of [...this.waiting.keys()]) this.fail(id, error);
  }

  private take(id: string): Waiting | undefined {
    const waiting = this.waiting.get(id);
    if (!waiting) return undefined;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    return waiting;
  }
}

/** What the bus needs of its instance. */
export interface BusHost {
  readonly instanceId: string;
  readonly commands: Redis;
  readonly keys: RedisKeys;
  readonly where: string;
  readonly logger: Logger;
  /** Whether this instance holds the claim on `key`. */
  holds(key: string): boolean;
  /** False once closed: nothing more is sent. */
  open(): boolean;
}

/**
 * The message bus of RedisCoordination: answers asks for the keys this instance claimed (in process
 * for its own asks, over its channel for the others'), and carries its asks to other instances.
 */
export class RedisBus {
  /** Answers messages for the keys claimed here. */
  handler: MessageHandler | undefined;
  private readonly pending = new PendingAsks();

  constructor(private readonly host: BusHost) {}

  /** Runs the handler for a key claimed here (its answer as JSON); by `deadline` when the asker waits here too. */
  async answerHere(key: string, message: BusMessage, deadline?: number): Promise<unknown> {
    const handler = this.handler;
    if (!handler) throw new CallstreamError('HANDLER_ERROR', `Instance ${this.host.instanceId} holds ${key} but has no message handler.`);
    try {
      const answer = Promise.resolve().then(() => handler(key, message));
      return asJsonValue(await (deadline === undefined ? answer : withTimeout(answer, remainingMs(deadline), `The handler of ${key}`)));
    } catch (error) {
      throw asCallstreamError(error);
    }
  }

  /**
   * Sends an ask to the instance `owner` and resolves with its reply, or `gone` when it no longer holds
   * the key; rejects COORDINATION_UNAVAILABLE when nobody listens on its channel or at `deadline`.
   */
  askInstance(owner: string, key: string, message: BusMessage, deadline: number): Promise<Delivery | 'gone'> {
    const ask: AskWire = { t: 'ask', id: randomBytes(12).toString('base64url'), from: this.host.instanceId, key, message };
    const answer = this.pending.wait(ask, owner, deadline);
    this.host.commands.publish(this.host.keys.instance(owner), JSON.stringify(ask)).then(
      (listeners) => {
        if (listeners > 0) return;
        this.pending.fail(ask.id, new CallstreamError('COORDINATION_UNAVAILABLE', `Instance ${owner} holds ${key} but does not listen (gone?).`));
      },
      (error: unknown) => this.pending.fail(ask.id, unavailable(error, this.host.where)),
    );
    return answer;
  }

  /** A message on this instance's channel: a reply to one of its asks, or an ask to answer. */
  receive(text: string): void {
    const wire = decodeWire(text);
    if (!wire) return this.host.logger.debug('unreadable bus message dropped');
    if (wire.t === 'reply') return this.pending.settle(wire);
    void this.answerThere(wire);
  }

  /** Rejects every ask still waiting (the instance is closing). */
  failAll(error: CallstreamError): void {
    this.pending.failAll(error);
  }

  /** Answers another instance's ask on its channel (a reply to an asker gone meanwhile is lost, harmlessly). */
  private async answerThere(ask: AskWire): Promise<void> {
    let reply: string;
    if (!this.host.holds(ask.key)) {
      reply = JSON.stringify({ t: 'reply', id: ask.id, gone: true } satisfies ReplyWire);
    } else {
      try {
        reply = JSON.stringify({ t: 'reply', id: ask.id, ok: true, value: await this.answerHere(ask.key, ask.message) } satisfies ReplyWire);
      } catch (error) {
        const { code, message } = asCallstreamError(error);
        reply = JSON.stringify({ t: 'reply', id: ask.id, ok: false, code, message } satisfies ReplyWire);
      }
    }
    if (!this.host.open()) return;
    this.host.commands.publish(this.host.keys.instance(ask.from), reply).catch((error: unknown) =>
      this.host.logger.debug({ key: ask.key, err: describeError(error) }, 'reply not sent (Redis away)'),
    );
  }
}
