/** A server-sent-events client over fetch: events recorded as they arrive. */
export class EventReader {
  readonly events: { event: string; data: unknown }[] = [];
  status = 0;
  private readonly controller = new AbortController();
  readonly done: Promise<void>;
  private readonly listeners = new Set<() => void>();

  constructor(url: string, headers: Record<string, string> = {}) {
    this.done = this.read(url, headers);
  }

  private async read(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const response = await fetch(url, { headers, signal: this.controller.signal });
      this.status = response.status;
      this.notify();
      if (!response.ok || !response.body) return;
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let split;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) this.events.push({ event, data: JSON.parse(data) });
          this.notify();
        }
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    } finally {
      this.notify();
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolves once `predicate` holds. */
  until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`SSE: timed out; events so far ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  close(): void {
    this.controller.abort();
  }
}
