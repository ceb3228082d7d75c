import type { BusMessage } from './coordination.js';

type Listener = (message: BusMessage) => void;

/** Local listeners by topic; one listener's throw never stops the others. */
export class TopicListeners {
  private readonly byTopic = new Map<string, Set<Listener>>();

  /** Adds a listener; returns its removal. `onFirst`/`onLast` run when a topic gains its first or loses its last listener. */
  add(topic: string, listener: Listener, onFirst?: () => void, onLast?: () => void): () => void {
    let listeners = this.byTopic.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.byTopic.set(topic, listeners);
      onFirst?.();
    }
    listeners.add(listener);
    return () => {
      if (!listeners.delete(listener) || listeners.size > 0) return;
      this.byTopic.delete(topic);
      onLast?.();
    };
  }

  emit(topic: string, message: BusMessage): void {
    const listeners = this.byTopic.get(topic);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch {
        // a listener's fault is its own
      }
    }
  }

  get topics(): string[] {
    return [...this.byTopic.keys()];
  }
}
