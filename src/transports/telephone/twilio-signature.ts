import type { Context, Middleware } from 'koa';
import { readForm } from '../../http/body.js';
import { publicOrigin, webSocketOrigin } from '../../http/public-url.js';
import { urlForLog } from '../../logger.js';
import { isValidTwilioSignature } from '../../twilio/signature.js';
import type { TransportRuntime } from '../runtime.js';

/** What Twilio sent, read once by the signature check: the POST form, or the query of a GET. */
export function twilioParams(ctx: Context): Record<string, string> {
  return (ctx.state as { twilioParams?: Record<string, string> }).twilioParams ?? {};
}

/**
 * The one check of Twilio's routes (webhook, media-stream upgrade, status callbacks): the request's
 * X-Twilio-Signature must sign the public URL Twilio called (`wss://` for the upgrade) and, for a
 * POST, its form parameters, with the Stream's auth token. Refused alike everywhere: 403 and a
 * rate-limited warning with the URL less its query (which may hold anything a forger put there).
 * Without an auth token nothing is checked. The parameters are left for the route (`twilioParams`).
 */
export function twilioSignature(runtime: TransportRuntime): Middleware {
  return async (ctx, next) => {
    const { options } = runtime;
    const upgrade = Boolean(ctx.ws);
    const form = ctx.method === 'POST' && !upgrade ? await readForm(ctx, options.maxBodyBytes) : undefined;
    (ctx.state as { twilioParams?: Record<string, string> }).twilioParams = form ?? queryParams(ctx);
    const token = options.twilioAuthToken;
    if (token) {
      const origin = publicOrigin(ctx, options.publicUrl);
      const url = (upgrade ? webSocketOrigin(origin) : origin) + ctx.originalUrl;
      if (!isValidTwilioSignature(token, ctx.get('x-twilio-signature') || undefined, url, form ?? {})) {
        const log = runtime.logger.child({ transport: 'telephone' });
        runtime.clientFaults.warn(log, { url: urlForLog(url), remoteAddress: ctx.ip }, `${ctx.path} refused: missing or invalid X-Twilio-Signature`);
        ctx.status = 403;
        ctx.body = 'Invalid or missing X-Twilio-Signature.';
        return;
      }
    }
    await next();
  };
}

function queryParams(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(ctx.querystring)) out[key] = value;
  return out;
}
