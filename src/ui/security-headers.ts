/**
 * What the built-in page may load: its own script and style, requests to its own origin (offer,
 * configuration, input hook, outputs), nothing inline and nothing else. Media from getUserMedia and
 * WebRTC is not a fetch, so no media source is needed.
 */
const PAGE_POLICY = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self'", "base-uri 'none'", "form-action 'none'"];

/** `'self'` or an origin (scheme, host with an optional `*.` wildcard, optional port): nothing that could break out of the header. */
const FRAME_ANCESTOR = /^(?:'self'|https?:\/\/(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?)$/i;

/** Throws a TypeError unless every entry of `uiArgs.frameAncestors` is `'self'` or an origin. */
export function checkFrameAncestors(values: unknown): void {
  if (values === undefined) return;
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string' && FRAME_ANCESTOR.test(value))) {
    throw new TypeError(`uiArgs.frameAncestors must be a list of origins ("https://app.example.com") or "'self'"; got ${JSON.stringify(values)}.`);
  }
}

/**
 * The headers of the built-in page and its assets: a strict Content-Security-Policy (framed only by
 * `frameAncestors`, by no one when empty), no MIME sniffing, no Referer sent from the page.
 */
export function pageSecurityHeaders(frameAncestors: readonly string[] = []): Record<string, string> {
  const ancestors = frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'";
  return {
    'Content-Security-Policy': [...PAGE_POLICY, `frame-ancestors ${ancestors}`].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}
