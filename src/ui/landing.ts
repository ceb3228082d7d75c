import type { Context, Middleware } from 'koa';

interface Describable {
  status(): { active: Record<string, number>; limit: number | null };
}

/** `GET {path}/`: a short page saying what is mounted (the full built-in page comes with WebRTC). */
export function landingPage(stream: Describable, prefix: string): Middleware {
  return (ctx: Context) => {
    const { active, limit } = stream.status();
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>callstream</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1d2433}code{background:#eef1f6;padding:.1em .3em;border-radius:4px}</style>
</head><body>
<h1>callstream</h1>
<p>A voice handler is mounted here. Point a Twilio number's voice webhook at
<code>${prefix}/telephone/incoming</code> (POST); media streams connect to <code>${prefix}/telephone/handler</code>.</p>
<p>Live sessions: ${Object.entries(active).map(([k, v]) => `${k} ${v}`).join(', ')}; limit ${limit ?? 'none'}.</p>
</body></html>`;
  };
}
