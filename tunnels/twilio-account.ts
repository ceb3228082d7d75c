import { CallstreamError } from '../src/errors.js';
import type { Stream } from '../src/stream.js';
import { checkTwilioCredentials, createTwilioClient, type TwilioClient, type TwilioCredentials, twilioCredentialsFromEnv } from '../src/twilio/client.js';

/** The Twilio account a publicly served Stream works for. */
export interface TwilioAccount {
  credentials: TwilioCredentials;
  client: TwilioClient;
  /** True when signatures are not checked (an API key without the auth token, allowed by `insecure`). */
  insecure: boolean;
}

/**
 * Credentials from `options` over the `TWILIO_*` environment, checked; the REST client; and the
 * signature guard: the auth token checks webhook signatures, so without one the Stream is refused
 * unless `insecure` (then said loudly). The Stream gets the token and, unless it has one, the client.
 */
export function twilioAccountFor(stream: Stream, options: Partial<TwilioCredentials>, insecure: boolean): TwilioAccount {
  const credentials = checkTwilioCredentials({ ...twilioCredentialsFromEnv(), ...credentialsIn(options) });
  const unchecked = guardSignatures(stream, credentials, insecure);
  const client = createTwilioClient(credentials);
  if (!stream.options.twilioClient) stream.setTwilioClient(client);
  return { credentials, client, insecure: unchecked };
}

function credentialsIn(options: Partial<TwilioCredentials>): Partial<TwilioCredentials> {
  const keys = ['accountSid', 'authToken', 'apiKey', 'apiSecret', 'region', 'edge', 'apiBaseUrl', 'timeoutMs'] as const;
  return Object.fromEntries(keys.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
}

/** Signatures need the auth token. Without one: refused, unless `insecure` (then said loudly). Returns whether insecure. */
function guardSignatures(stream: Stream, credentials: TwilioCredentials, insecure: boolean): boolean {
  if (credentials.authToken) {
    stream.setTwilioAuthToken(credentials.authToken);
    return false;
  }
  if (stream.options.twilioAuthToken) return false;
  if (!insecure) {
    throw new CallstreamError('CONFIG_ERROR', 'Webhook signatures need the account\'s auth token, and only an API key was given.', {
      hint: 'set TWILIO_AUTH_TOKEN too (REST keeps using the API key), or pass --insecure to accept unsigned webhooks (not for real use).',
    });
  }
  stream.logger.warn('--insecure: no auth token, so webhook and media-stream signatures are NOT checked; anyone who finds the URL can reach the handler');
  return true;
}
