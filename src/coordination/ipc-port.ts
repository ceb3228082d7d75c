import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { CallstreamError } from '../errors.js';
import type { RateLimitRule } from '../http/rate-limit.js';
import type { TransportKind } from '../session/types.js';
import type { AnnouncedCall, Announcement, AnnounceOptions, AskOptions, BusMessage, Delivery, PlaceCounts } from './coordination.js';
import type { HubPort } from './hub-port.js';
import type { HubMember, HubTakenCall } from './hub-port.js';
import { fromWireError, type HubCallMethod, type HubCastMethod, type HubWire, type IpcEnd, isHubWire, toWireError } from './ipc-wire.js';

/** How long a call to the primary's hub may take before it fails with COORDINATION_UNAVAILABLE (ms). */
export const HUB_CALL_TIMEOUT_MS = 3000;
/** An ask's default timeout, as the contract says (ms). */
const ASK_TIMEOUT_MS = 3000;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/**
 * In a node:cluster worker: the hub of the primary (served by `serveHubOverIpc`), reached over the
 * IPC channel (`processEnd()`). Give it to `MemoryCoordination` as its `hub`: the workers then share
 * one limit, the call tokens, the session directory and the bus. Calls fail with
 * COORDINATION_UNAVAILABLE when the primary does not answer in time or the channel is closed; asks
 * for a key this worker's instances hold come back here and are answered by their handler.
 */
export class IpcHubPort implements HubPort {
  private readonly members = new Map<string, HubMember>();
  private readonly waiting = new Map<number, Waiting>();
  private readonly timers: Clock;
  private nextCall = 1;
  private closed = false;

  constructor(
    private readonly primary: IpcEnd,
    options: { clock?: Clock } = {},
  ) {
    this.timers = options.clock ?? systemClock;
    primary.onMessage((message) => this.receive(message));
    primary.onClose(() => this.close());
  }

  attach(instanceId: string, member: HubMember): void {
    this.members.set(instanceId, member);
    this.cast('attach', [instanceId]);
  }

  detach(instanceId: string, release: boolean): void {
    this.members.delete(instanceId);
    this.cast('detach', [instanceId, release]);
  }

  acquirePlace(instanceId: string, transport: TransportKind, limit: number, leaseMs: number): Promise<string | undefined> {
    return this.call('acquirePlace', [instanceId, transport, limit, leaseMs]) as Promise<string | undefined>;
  }

  releasePlace(placeId: string): void {
    this.cast('releasePlace', [placeId]);
  }

  counts(): Promise<PlaceCounts> {
    return this.call('counts', []) as Promise<PlaceCounts>;
  }

  announceCall(announced: AnnouncedCall, limit: number, ttlMs: number, options?: AnnounceOptions): Promise<Announcement> {
    return this.call('announceCall', [announced, limit, ttlMs, options ?? {}]) as Promise<Announcement>;
  }

  async rememberCall(callSid: string, rememberMs: number): Promise<void> {
    await this.call('rememberCall', [callSid, rememberMs]);
  }

  takeCall(instanceId: string, token: string, callSid: string | undefined, leaseMs: number): Promise<HubTakenCall> {
    return this.call('takeCall', [instanceId, token, callSid, leaseMs]) as Promise<HubTakenCall>;
  }

  claim(instanceId: string, keys: string[], leaseMs: number): Promise<BusMessage[] | undefined> {
    return this.call('claim', [instanceId, keys, leaseMs]) as Promise<BusMessage[] | undefined>;
  }

  unclaim(instanceId: string, key: string): void {
    this.cast('unclaim', [instanceId, key]);
  }

  renew(instanceId: string, places: { id: string; transport: TransportKind }[], keys: string[], leaseMs: number): void {
    this.cast('renew', [instanceId, places, keys, leaseMs]);
  }

  async ask(key: string, message: BusMessage, options: AskOptions = {}): Promise<Delivery> {
    const timeoutMs = options.timeoutMs ?? ASK_TIMEOUT_MS;
    const why = `The instance holding "${key.slice(0, 128)}" did not answer within ${timeoutMs} ms.`;
    return (await this.call('ask', [key, message, options], timeoutMs, why)) as Delivery;
  }

  publish(topic: string, message: BusMessage): void {
    this.cast('publish', [topic, message]);
  }

  hit(name: string, rule: RateLimitRule, key: string): Promise<number> {
    return this.call('hit', [name, rule, key]) as Promise<number>;
  }

  retryAfterMs(name: string, rule: RateLimitRule, key: string): Promise<number> {
    return this.call('retryAfterMs', [name, rule, key]) as Promise<number>;
  }

  /** The channel closed (the primary is gone): waiting calls fail, and so will later ones. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.waiting.values()) {
      waiting.timer.cancel();
      waiting.reject(unavailable('The primary process is gone.'));
    }
    this.waiting.clear();
  }

  private call(method: HubCallMethod, args: unknown[], timeoutMs = HUB_CALL_TIMEOUT_MS, why?: string): Promise<unknown> {
    if (this.closed) return Promise.reject(unavailable('The primary process is gone.'));
    return new Promise((resolve, reject) => {
      const id = this.nextCall++;
      const timer = this.timers.after(timeoutMs, () => {
        this.waiting.delete(id);
        reject(unavailable(why ?? `The primary process did not answer ${method} within ${timeoutMs} ms.`));
      });
      this.waiting.set(id, { resolve, reject, timer });
      this.primary.send({ hub: 'call', id, method, args });
    });
  }

  private cast(method: HubCastMethod, args: unknown[]): void {
    if (!this.closed) this.primary.send({ hub: 'cast', method, args });
  }

  private receive(message: unknown): void {
    if (!isHubWire(message)) return;
    if (message.hub === 'result') this.settle(message);
    else if (message.hub === 'ask') void this.answer(message);
    else if (message.hub === 'topic') this.members.get(message.to)?.onTopic(message.topic, message.message);
  }

  private settle(message: Extract<HubWire, { hub: 'result' }>): void {
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    waiting.timer.cancel();
    if (message.error) waiting.reject(fromWireError(message.error));
    else waiting.resolve(message.value);
  }

  /** Answers an ask with the handler of the instance it is for; what it returns must be JSON. */
  private async answer({ id, to, key, message }: Extract<HubWire, { hub: 'ask' }>): Promise<void> {
    let reply: HubWire;
    try {
      const member = this.members.get(to);
      if (!member) throw unavailable(`The instance holding "${key.slice(0, 128)}" has left.`);
      const value = await member.onMessage(key, message);
      reply = { hub: 'answer', id, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) };
    } catch (error) {
      reply = { hub: 'answer', id, error: toWireError(error) };
    }
    this.primary.send(reply);
  }
}

function unavailable(message: string): CallstreamError {
  return new CallstreamError('COORDINATION_UNAVAILABLE', message);
}
