import type { Context, Middleware } from 'koa';
import { sessionForRequest } from '../http/access.js';
import { openEventStream } from '../http/sse.js';
import type { Session } from '../session/session.js';
import type { OutputFeeds } from './output-feeds.js';

/**
 * `GET {path}/outputs?webrtc_id=ID&secret=S`: a session's additional outputs as server-sent events
 * (`event: output`, data `{values, state}`), the latest one first; `event: end` when the session ends.
 */
export function outputsRoute(feeds: OutputFeeds, find: (id: string) => Session | undefined): Middleware {
  return (ctx: Context) => {
    const session = sessionForRequest(ctx, ctx.query.webrtc_id ?? ctx.query.id, find);
    const events = openEventStream(ctx);
    const latest = feeds.latest(session.id);
    if (latest) events.send('output', latest);
    const unsubscribe = feeds.subscribe(session.id, (event) => {
      if (event) events.send('output', event);
      else {
        events.send('end', { reason: 'session ended' });
        events.end();
      }
    });
    if (!unsubscribe) {
      events.send('end', { reason: 'session ended' });
      events.end();
      return;
    }
    events.onClose(unsubscribe);
  };
}
