import type { AdditionalOutputs } from '../session/emit.js';
import type { Session } from '../session/session.js';

/** One output as clients see it: the values the handler emitted and the folded state. */
export interface OutputEvent {
  /** The AdditionalOutputs' values, as emitted. */
  values: unknown[];
  /** `additionalOutputsHandler(previous, ...values)` when the Stream has one, else the values. */
  state: unknown;
}

type Listener = (event: OutputEvent | undefined) => void;

interface Feed {
  latest: OutputEvent | undefined;
  listeners: Set<Listener>;
}

/**
 * The additional outputs of every session, folded per session, for the SSE route and inline
 * delivery. A listener gets `undefined` when its session ends.
 */
export class OutputFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly fold: ((previous: unknown, ...values: unknown[]) => unknown) | undefined) {}

  /** Starts following a session's outputs; tells its client about each one. */
  track(session: Session): void {
    const feed: Feed = { latest: undefined, listeners: new Set() };
    this.feeds.set(session.id, feed);
    session.on('output', (outputs) => this.publish(session, feed, outputs));
    session.once('stop', () => {
      this.feeds.delete(session.id);
      for (const listener of feed.listeners) listener(undefined);
      feed.listeners.clear();
    });
  }

  /** The last output of a session, if any. */
  latest(sessionId: string): OutputEvent | undefined {
    return this.feeds.get(sessionId)?.latest;
  }

  /** Calls `listener` with each new output of the session; returns the unsubscribe function. */
  subscribe(sessionId: string, listener: Listener): (() => void) | undefined {
    const feed = this.feeds.get(sessionId);
    if (!feed) return undefined;
    feed.listeners.add(listener);
    return () => feed.listeners.delete(listener);
  }

  private publish(session: Session, feed: Feed, outputs: AdditionalOutputs): void {
    const values = [...outputs.args];
    let state: unknown = values;
    if (this.fold) {
      try {
        state = this.fold(feed.latest?.state, ...values);
      } catch (error) {
        session.log.warn({ err: error }, 'additionalOutputsHandler threw: output kept unfolded');
      }
    }
    const event: OutputEvent = { values, state };
    feed.latest = event;
    for (const listener of feed.listeners) listener(event);
    if (session.inlineOutputs) session.sendMessage({ type: 'output', data: event });
    else session.sendMessage({ type: 'fetch_output', data: [] });
  }
}
