import type { Context, Middleware } from 'koa';
import { SECRET_HEADER } from './access.js';

/**
 * Cross-origin access to the browser-facing JSON routes. Without it (the default) no CORS header is
 * ever sent: browsers let only pages of the same origin read the answers.
 */
export interface CorsOptions {
  /** Origins allowed to call the routes (`https://app.example.com`, exact scheme, host and port), or `'*'` for any. */
  origins: string[] | '*';
  /** Allow credentials (cookies, for an `authorize` hook that reads them). Not with `'*'`. Default false. */
  credentials?: boolean;
  /** Request headers allowed beyond Content-Type and X-Callstream-Secret (e.g. `Authorization`). */
  headers?: string[];
  /** How long a browser may cache a preflight answer (seconds). Default 600. */
  maxAgeSeconds?: number;
}

interface Policy {
  allows(origin: string): boolean;
  any: boolean;
  credentials: boolean;
  headers: string;
  maxAge: string;
}

function policyOf(options: CorsOptions): Policy {
  const any = options.origins === '*';
  if (any && options.credentials) {
    throw new TypeError('cors: credentials cannot be allowed for every origin ("*"); list the origins.');
  }
  const origins = new Set(
    any
      ? []
      : (options.origins as string[]).map((origin) => {
          let parsed: URL;
          try {
            parsed = new URL(origin);
          } catch {
            throw new TypeError(`cors.origins: "${origin}" is not an origin such as https://app.example.com.`);
          }
          if (parsed.origin === 'null' || parsed.pathname !== '/' || parsed.search) {
            throw new TypeError(`cors.origins: "${origin}" must be an origin (scheme, host, port) without a path.`);
          }
          return parsed.origin;
        }),
  );
  return {
    any,
    allows: (origin) => any || origins.has(origin),
    credentials: options.credentials ?? false,
    headers: ['Content-Type', SECRET_HEADER, ...(options.headers ?? [])].join(', '),
    maxAge: String(options.maxAgeSeconds ?? 600),
  };
}

function allowOrigin(ctx: Context, policy: Policy): boolean {
  const origin = ctx.get('origin');
  ctx.vary('Origin');
  if (!origin || !policy.allows(origin)) return false;
  ctx.set('Access-Control-Allow-Origin', policy.any ? '*' : origin);
  if (policy.credentials) ctx.set('Access-Control-Allow-Credentials', 'true');
  return true;
}

/** Checks a CORS policy (throws a TypeError saying what is wrong); returns it unchanged. */
export function checkCorsOptions(options: CorsOptions): CorsOptions {
  policyOf(options);
  return options;
}

/**
 * The CORS middleware pair of a Stream's browser routes: `headers` marks answers (errors included)
 * readable by an allowed origin; `preflight` answers `OPTIONS` for them (204). Both step aside when
 * no policy is configured, and a disallowed origin simply gets no CORS header.
 */
export function corsMiddleware(options: CorsOptions | undefined): { headers: Middleware; preflight: Middleware } | undefined {
  if (!options) return undefined;
  const policy = policyOf(options);
  return {
    headers: async (ctx, next) => {
      if (allowOrigin(ctx, policy)) ctx.set('Access-Control-Expose-Headers', 'Retry-After');
      await next();
    },
    preflight: (ctx) => {
      ctx.status = 204;
      if (!allowOrigin(ctx, policy)) return;
      ctx.set('Access-Control-Allow-Methods', 'GET, POST');
      ctx.set('Access-Control-Allow-Headers', policy.headers);
      ctx.set('Access-Control-Max-Age', policy.maxAge);
    },
  };
}
