import type { Context } from 'koa';
import { urlForLog, type Logger } from '../../logger.js';
import { isValidTwilioSignature } from '../../twilio/signature.js';
import type { TransportRuntime } from '../runtime.js';

/**
 * Whether a request to one of Twilio's routes comes from Twilio: its X-Twilio-Signature signs `url`
 * (and the POST `params`) with the Stream's auth token. Always true without an auth token (nothing
 * to check against). A refusal is logged as a client fault (`refusal` is its message): a rate-limited
 * warning with the URL less its query, which may hold anything a forger put there.
 */
export function signedByTwilio(
  runtime: TransportRuntime,
  ctx: Context,
  url: string,
  params: Record<string, string>,
  log: Logger,
  refusal: string,
): boolean {
  const token = runtime.options.twilioAuthToken;
  if (!token || isValidTwilioSignature(token, ctx.get('x-twilio-signature') || undefined, url, params)) return true;
  runtime.clientFaults.warn(log, { url: urlForLog(url), remoteAddress: ctx.ip }, refusal);
  return false;
}
