import type { BusMessage, Coordination } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { checkSecret } from '../http/access.js';
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
  /** Listeners on other instances (their SSE routes), told through the feed's topic. */
  remoteWatchers: number;
}

/** The topic on which a session's outputs reach listeners on other instances. */
export function outputsTopic(sessionId: string): string {
  return `outputs:${sessionId}`;
}

/**
 * The additional outputs of this instance's sessions, folded per session, for the SSE route and
 * inline delivery. A listener gets `undefined` when its session ends. Listeners on other instances
 * watch through the coordination: the feed publishes to its topic only while they do.
 */
export class OutputFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly fold: ((previous: unknown, ...values: unknown[]) => unknown) | undefined,
    private readonly coordination: Coordination,
  ) {}

  /** Answers other instances: the latest output, and remote watchers coming and going. */
  serve(directory: SessionDirectory): void {
    directory.handle('outputs.latest', (session, message) => this.latestFor(session, message) ?? null);
    directory.handle('outputs.watch', (session, message) => {
      const latest = this.latestFor(session, message);
      const feed = this.feeds.get(session.id);
      if (feed) feed.remoteWatchers++;
      return latest ?? null;
    });
    directory.handle('outputs.unwatch', (session) => {
      const feed = this.feeds.get(session.id);
      if (feed) feed.remoteWatchers = Math.max(0, feed.remoteWatchers - 1);
      return null;
    });
  }

  /** Starts following a session's outputs; tells its client about each one. */
  track(session: Session): void {
    const feed: Feed = { latest: undefined, listeners: new Set(), remoteWatchers: 0 };
    this.feeds.set(session.id, feed);
    session.on('output', (outputs) => this.publish(session, feed, outputs));
    session.onEnd(() => {
      this.feeds.delete(session.id);
      for (const listener of feed.listeners) listener(undefined);
      feed.listeners.clear();
      if (feed.remoteWatchers > 0) this.coordination.publish(outputsTopic(session.id), { type: 'end' });
    });
  }

  /** The last output of a session of this instance, if any. */
  latest(sessionId: string): OutputEvent | undefined {
    return this.feeds.get(sessionId)?.latest;
  }

  /** Calls `listener` with each new output of a session of this instance; returns the unsubscribe function. */
  subscribe(sessionId: string, listener: Listener): (() => void) | undefined {
    const feed = this.feeds.get(sessionId);
    if (!feed) return undefined;
    feed.listeners.add(listener);
    return () => feed.listeners.delete(listener);
  }

  private latestFor(session: Session, message: BusMessage): OutputEvent | undefined {
    if ('secret' in message) checkSecret(session, message.secret);
    return this.latest(session.id);
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
    if (feed.remoteWatchers > 0) this.coordination.publish(outputsTopic(session.id), { type: 'output', event });
    if (session.inlineOutputs) session.sendMessage({ type: 'output', data: event });
    else session.sendMessage({ type: 'fetch_output', data: [] });
  }
}
