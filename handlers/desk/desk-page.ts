import type { Context, Middleware } from 'koa';
import { EventStreams, eventStreamsOf } from '../../src/index.js';
import { escapeHtml, StaticFiles } from '../../src/ui/static-files.js';
import type { Desk } from './desk.js';

const FILES = new StaticFiles(new URL('./static/', import.meta.url), 'desk.html', {
  'desk.js': 'text/javascript; charset=utf-8',
  'desk.css': 'text/css; charset=utf-8',
});
const MAX_BODY = 1024;

/**
 * The desk's page, mounted with `stream.addPage('desk', deskPage(desk))` (behind `authorize`, with
 * the page's security headers): `GET {path}/desk` the page, `GET {path}/desk/static/*` its script
 * and style, `GET {path}/desk/events` the queue as server-sent events, `POST {path}/desk/answer`
 * `{caller}` a ticket to connect with.
 */
export function deskPage(desk: Desk): Middleware {
  // Mounted by a Stream (addPage), the queue's feeds count with the Stream's and end at its shutdown.
  const own = new EventStreams();
  return async (ctx: Context) => {
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
