import type { Context, Middleware } from 'koa';
import type { Coordination } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import { checkSecret, hideUnknownSession, requestedSessionId, requestSecret } from '../http/access.js';
import { type EventStream, openEventStream } from '../http/sse.js';
import { type OutputEvent, type OutputFeeds, outputsTopic } from './output-feeds.js';

/**
 * `GET {path}/outputs?webrtc_id=ID&secret=S`: a session's additional outputs as server-sent events
 * (`event: output`, data `{values, state}`), the latest one first; `event: end` when the session ends.
 * The session may live on another instance: its outputs then come through the coordination. An
 * unknown id is answered as a wrong secret is (403): no answer tells whether an id is live.
 */
export function outputsRoute(directory: SessionDirectory, feeds: OutputFeeds, coordination: Coordination): Middleware {
  return async (ctx: Context) => {
    const id = requestedSessionId(ctx.query.webrtc_id ?? ctx.query.id);
    const secret = requestSecret(ctx);
    const local = directory.get(id);
    if (local) {
      checkSecret(local, secret);
      const events = openEventStream(ctx);
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
        else early.push(event);
      }
    });
    let latest: OutputEvent | null;
    try {
      latest = (await directory.send(id, { type: 'outputs.watch', secret })) as OutputEvent | null;
    } catch (error) {
      unsubscribe();
      throw hideUnknownSession(error);
    }
    events = openEventStream(ctx);
    if (latest) events.send('output', latest);
    for (const event of early) events.send('output', event);
    events.onClose(() => {
      unsubscribe();
      directory.send(id, { type: 'outputs.unwatch' }).catch(() => {});
    });
    if (over) ended(events);
  };
}

function ended(events: EventStream): void {
  events.send('end', { reason: 'session ended' });
  events.end();
}
