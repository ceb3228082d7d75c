import type { Context, Middleware } from 'koa';
import type { Coordination } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { isCallstreamError } from '../errors.js';
import { checkSecret, hideUnknownSession, requestedSessionId, requestSecret } from '../http/access.js';
import type { EventStream, EventStreams } from '../http/sse.js';
import { type OutputEvent, type OutputFeeds, outputsTopic } from './output-feeds.js';

/** Outputs of a session elsewhere that arrive while its stream opens: the latest ones are kept. */
const MAX_EARLY_OUTPUTS = 64;

/**
 * `GET {path}/outputs?webrtc_id=ID&secret=S`: a session's additional outputs as server-sent events
 * (`event: output`, data `{values, state}`), the latest one first; `event: end` when the session ends.
 * The session may live on another instance: its outputs then come through the coordination, and each
 * keep-alive checks that it still lives (an `end` missed in transit, or an instance gone, still ends
 * the stream). An unknown id is answered as a wrong secret is (403): no answer tells whether an id is
 * live. Streams are bounded per client, per client and session, and in all (`streams`).
 */
export function outputsRoute(directory: SessionDirectory, feeds: OutputFeeds, coordination: Coordination, streams: EventStreams): Middleware {
  return async (ctx: Context) => {
    const id = requestedSessionId(ctx.query.webrtc_id ?? ctx.query.id);
    const secret = requestSecret(ctx);
    const local = directory.get(id);
    const name = 'callstream outputs';
    if (local) {
      checkSecret(local, secret);
      const events = streams.openFor(ctx, outputsTopic(id), { name });
      const latest = feeds.latest(id);
      if (latest) events.send('output', latest);
      const unsubscribe = feeds.subscribe(id, (event) => (event ? events.send('output', event) : ended(events)));
      if (unsubscribe) events.onClose(unsubscribe);
      else ended(events);
      return;
    }
    // Elsewhere: listen first so nothing falls between the latest output and the next one.
    const early: OutputEvent[] = [];
    let events: EventStream | undefined;
    let over = false;
    const unsubscribe = coordination.subscribe(outputsTopic(id), (message) => {
      if (message.type === 'end') {
        over = true;
        if (events) ended(events);
      } else if (message.type === 'output') {
        const event = message.event as OutputEvent;
        if (events) events.send('output', event);
        else if (early.push(event) > MAX_EARLY_OUTPUTS) early.shift();
      }
    });
    let latest: OutputEvent | null;
    try {
      latest = (await directory.send(id, { type: 'outputs.watch', secret })) as OutputEvent | null;
    } catch (error) {
      unsubscribe();
      throw hideUnknownSession(error);
    }
    const unwatch = () => {
      unsubscribe();
      directory.send(id, { type: 'outputs.unwatch' }).catch(() => {});
    };
    try {
      events = streams.openFor(ctx, outputsTopic(id), { name, heartbeat: () => endIfGone(directory, id, secret, () => events && ended(events)) });
    } catch (error) {
      unwatch();
      throw error;
    }
    if (latest) events.send('output', latest);
    for (const event of early) events.send('output', event);
    events.onClose(unwatch);
    if (over) ended(events);
  };
}

/** Ends a stream whose session no instance holds any more (asked with its secret, as the stream was). */
function endIfGone(directory: SessionDirectory, id: string, secret: string, end: () => void): void {
  directory.send(id, { type: 'outputs.latest', secret }).catch((error: unknown) => {
    if (isCallstreamError(error, 'NOT_FOUND')) end();
  });
}

function ended(events: EventStream): void {
  events.end('session ended');
}
