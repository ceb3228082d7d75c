import type { Context, Middleware } from 'koa';
import { defaultInputs } from '../inputs/spec.js';
import type { ResolvedOptions } from '../options.js';
import { pageSecurityHeaders } from './security-headers.js';
import { escapeHtml, StaticFiles } from './static-files.js';

/** The page's files (they ship beside this module; `npm run build` copies them). */
const FILES = new StaticFiles(new URL('./static/', import.meta.url), 'index.html', {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
});

/**
 * `GET {path}/`: the built-in page (FastRTC's UI): start/stop, microphone picker, level meters,
 * connection state, errors and a DTMF keypad. Zero-build static files; `uiArgs` fill the text.
 */
export function builtInPage(options: ResolvedOptions, base: string): Middleware {
  const ui = options.uiArgs;
  const headers = pageSecurityHeaders(ui.frameAncestors);
  const title = ui.title ?? 'callstream';
  const pageConfig = {
    base,
    mode: options.mode,
    modality: options.modality,
    videoConstraints: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    startLabel: ui.startLabel ?? 'Start talking',
    stopLabel: ui.stopLabel ?? 'Hang up',
    keypad: ui.keypad ?? true,
    accentColor: ui.accentColor,
    trackConstraints: options.trackConstraints ?? { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    rtpParams: options.rtpParams,
    inputs: options.additionalInputs,
    inputValues: defaultInputs(options.additionalInputs),
    outputs: options.additionalOutputs,
  };
  return (ctx: Context) => {
    const replacements: Record<string, string> = {
      title: escapeHtml(title),
      subtitle: escapeHtml(ui.subtitle ?? (options.modality === 'video' ? 'Press start: the handler gets your camera and sends video back.' : 'Press start and speak: the handler answers.')),
      startLabel: escapeHtml(pageConfig.startLabel),
      replyLabel: escapeHtml(ui.replyLabel ?? 'Reply'),
      base: escapeHtml(base),
      config: JSON.stringify(pageConfig).replace(/</g, '\\u003c'),
    };
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set(headers);
    ctx.body = FILES.page().replace(/\{\{(\w+)\}\}/g, (_, key: string) => replacements[key] ?? '');
  };
}

/** `GET {path}/static/:file`: the page's script and style, with the page's security headers. */
export function pageAssets(options: ResolvedOptions): Middleware {
  const headers = pageSecurityHeaders(options.uiArgs.frameAncestors);
  return (ctx: Context) => {
    const name = (ctx.params as { file?: string } | undefined)?.file ?? '';
    if (FILES.serveAsset(ctx, name)) ctx.set(headers);
  };
}
