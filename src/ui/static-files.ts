import { readFileSync } from 'node:fs';
import type { Context } from 'koa';

/**
 * A zero-build page's files: one HTML template and its assets (script, style), shipped beside the
 * module that serves them, read once on first use. The built-in page and handler pages (the desk)
 * serve theirs through this.
 */
export class StaticFiles {
  private cache: Map<string, string> | undefined;

  /** `assets` maps each asset's file name to its content type. */
  constructor(
    private readonly dir: URL,
    private readonly template: string,
    private readonly assets: Readonly<Record<string, string>>,
  ) {}

  /** The HTML template's text. */
  page(): string {
    return this.files().get(this.template)!;
  }

  /** Answers with asset `name` (cacheable for five minutes) and true, or 404 and false when it is not one. */
  serveAsset(ctx: Context, name: string): boolean {
    const type = Object.hasOwn(this.assets, name) ? this.assets[name] : undefined;
    if (!type) {
      ctx.status = 404;
      return false;
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = this.files().get(name);
    return true;
  }

  private files(): Map<string, string> {
    this.cache ??= new Map([this.template, ...Object.keys(this.assets)].map((name) => [name, readFileSync(new URL(name, this.dir), 'utf8')]));
    return this.cache;
  }
}

/** Text made safe to put into HTML (element content or a quoted attribute). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
