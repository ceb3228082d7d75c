import type { Context, Middleware } from 'koa';
import { EventStreams, eventStreamsOf } from '../../src/index.js';
import { escapeHtml, StaticFiles } from '../../src/ui/static-files.js';
import type { Desk } from './desk.js';

const FILES = new StaticFiles(new URL('./static/', import.meta.url), 'desk.html', {
  'desk.js': 'text/javascript; charset=utf-8',
  'desk.css': 'text/css; charset=utf-8',
});
const MAX_BODY = 1024;

/** Who may use the desk: true lets the request in, false answers 401. */
export type DeskAuthorize = (ctx: Context) => boolean | Promise<boolean>;

/**
 * The desk's page, mounted with `stream.addPage('desk', deskPage(desk, authorize))` (behind the
 * Stream's access token and `authorize`, with the page's security headers): `GET {path}/desk` the
 * page, `GET {path}/desk/static/*` its script and style, `GET {path}/desk/events` the queue as
 * server-sent events (callers' numbers), `POST {path}/desk/answer` `{caller}` (JSON) a ticket to
 * connect with. Whoever passes `authorize` sees every caller and may answer any: it is required, e.g.
 * `accessTokenAuthorizer(token)`, or `() => true` on a private network.
 */
export function deskPage(desk: Desk, authorize: DeskAuthorize): Middleware {
  if (typeof authorize !== 'function') {
    throw new TypeError('deskPage(desk, authorize): say who may see the callers and answer them, e.g. accessTokenAuthorizer(token), or () => true on a private network.');
  }
  // Mounted by a Stream (addPage), the queue's feeds count with the Stream's and end at its shutdown.
  const own = new EventStreams();
  return async (ctx: Context) => {
    if (!(await authorize(ctx))) {
      ctx.status = 401;
      ctx.body = { error: 'UNAUTHORIZED', message: 'The desk needs authorisation.' };
      return;
    }
    const match = /^(.*)\/desk(\/.*)?$/.exec(ctx.path);
    const base = match?.[1] ?? '';
    const sub = match?.[2] ?? '';
    if ((sub === '' || sub === '/') && ctx.method === 'GET') return page(ctx, base);
    if (sub.startsWith('/static/') && ctx.method === 'GET') return void FILES.serveAsset(ctx, sub.slice('/static/'.length));
    if (sub === '/events' && ctx.method === 'GET') return events(ctx, desk, eventStreamsOf(ctx) ?? own);
    if (sub === '/answer' && ctx.method === 'POST') return answer(ctx, desk);
    ctx.status = 404;
  };
}

function page(ctx: Context, base: string): void {
  const config = JSON.stringify({ base }).replace(/</g, '\\u003c');
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = FILES.page().replaceAll('{{base}}', escapeHtml(base)).replace('{{config}}', config);
}

/** The queue now, then again whenever it changes (server-sent events, `queue`), on a bounded stream. */
function events(ctx: Context, desk: Desk, streams: EventStreams): void {
  const feed = streams.openFor(ctx, 'desk', { name: 'desk queue' });
  const send = (queue: unknown) => feed.send('queue', { now: Date.now(), queue });
  send(desk.queue());
  feed.onClose(desk.onChange(send));
}

async function answer(ctx: Context, desk: Desk): Promise<void> {
  // JSON only: a form or text/plain body is what a cross-site page can send without asking.
  if (!ctx.is('application/json')) {
    ctx.status = 415;
    ctx.body = { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send {"caller": "<id>"} with Content-Type: application/json.' };
    return;
  }
  let caller: unknown;
  try {
    caller = (JSON.parse(await readBody(ctx)) as { caller?: unknown }).caller;
  } catch {
    caller = undefined;
  }
  if (typeof caller !== 'string' || caller.length > 128) {
    ctx.status = 400;
    ctx.body = { error: 'BAD_REQUEST', message: 'Send {"caller": "<id>"} as JSON.' };
    return;
  }
  const result = desk.reserve(caller);
  if ('error' in result) ctx.status = 409;
  ctx.body = result;
}

function readBody(ctx: Context): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        ctx.req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    ctx.req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    ctx.req.on('error', reject);
  });
}
