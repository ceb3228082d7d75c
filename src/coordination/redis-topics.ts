import type { Redis } from 'ioredis';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BusMessage } from './coordination.js';
import type { RedisKeys } from './redis-keys.js';

type Listener = (message: BusMessage) => void;

/**
 * The topics one instance listens to: any number of local listeners per topic share one Redis
 * subscription, made with the first listener and dropped with the last. While the subscriber
 * connection is away, nothing is sent: its next `ready` subscribes `channels()` again.
 */
export class RedisTopics {
  private readonly listeners = new Map<string, Set<{ listener: Listener }>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
  ) {}

  subscribe(topic: string, listener: Listener): () => void {
    const entry = { listener };
    let entries = this.listeners.get(topic);
    if (!entries) {
      entries = new Set();
      this.listeners.set(topic, entries);
      this.send('subscribe', this.keys.topic(topic));
    }
    entries.add(entry);
    return () => {
      const current = this.listeners.get(topic);
      if (!current?.delete(entry) || current.size > 0) return;
      this.listeners.delete(topic);
      this.send('unsubscribe', this.keys.topic(topic));
    };
  }

  /** The channels to subscribe (again) on a new connection. */
  channels(): string[] {
    return [...this.listeners.keys()].map((topic) => this.keys.topic(topic));
  }

  /** Hands a message that arrived on a topic's channel to its listeners (one that throws is logged, not fatal). */
  deliver(topic: string, text: string): void {
    const entries = this.listeners.get(topic);
    if (!entries) return;
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch {
      return this.logger.debug({ topic }, 'unreadable topic message dropped');
    }
    for (const { listener } of [...entries]) {
      try {
        listener(message);
      } catch (error) {
        this.logger.warn({ topic, err: describeError(error) }, 'topic listener threw');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }

  private send(command: 'subscribe' | 'unsubscribe', channel: string): void {
    if (this.subscriber.status !== 'ready') return;
    this.subscriber[command](channel).catch((error: unknown) => this.logger.debug({ channel, err: describeError(error) }, `${command} failed`));
  }
}
