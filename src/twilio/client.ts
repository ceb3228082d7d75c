import twilio from 'twilio';
import { CallstreamError } from '../errors.js';
import { BaseUrlRequestClient } from './base-url.js';

/** The official twilio helper's REST client. */
export type TwilioClient = twilio.Twilio;

/** Who talks to Twilio's REST API, and where. REST uses the API key + secret when given, else the auth token. */
export interface TwilioCredentials {
  /** `AC...` */
  accountSid: string;
  /** The account's auth token (also what webhook signatures are checked with). */
  authToken?: string;
  /** An API key SID (`SK...`) with its secret, instead of the auth token for REST. */
  apiKey?: string;
  apiSecret?: string;
  /** Twilio region (`TWILIO_REGION`, e.g. `au1`), as the helper names it. */
  region?: string;
  /** Twilio edge (`TWILIO_EDGE`, e.g. `sydney`), as the helper names it. */
  edge?: string;
  /** Another REST base URL (`TWILIO_API_BASE_URL`): every request goes there, path kept. Default: Twilio's hosts. */
  apiBaseUrl?: string;
  /** Timeout of each REST request (ms). Default: the helper's (30000). */
  timeoutMs?: number;
}

/** The `TWILIO_*` variables of an environment, as credentials (fields absent when unset or empty). */
export function twilioCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<TwilioCredentials> {
  const pick = (name: string) => (env[name] ? env[name] : undefined);
  const out: Partial<TwilioCredentials> = {
    accountSid: pick('TWILIO_ACCOUNT_SID'),
    authToken: pick('TWILIO_AUTH_TOKEN'),
    apiKey: pick('TWILIO_API_KEY'),
    apiSecret: pick('TWILIO_API_SECRET'),
    region: pick('TWILIO_REGION'),
    edge: pick('TWILIO_EDGE'),
    apiBaseUrl: pick('TWILIO_API_BASE_URL'),
  };
  for (const key of Object.keys(out) as (keyof TwilioCredentials)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/** Checks that credentials can reach REST: an `AC` account SID, and an auth token or an API key + secret. */
export function checkTwilioCredentials(credentials: Partial<TwilioCredentials>): TwilioCredentials {
  const { accountSid, authToken, apiKey, apiSecret } = credentials;
  if (!accountSid) {
    throw new CallstreamError('CONFIG_ERROR', 'No Twilio account SID.', {
      hint: 'set TWILIO_ACCOUNT_SID (AC..., on the Twilio console\'s home page), in the environment or in .env.',
    });
  }
  if (!accountSid.startsWith('AC')) {
    throw new CallstreamError('CONFIG_ERROR', `"${accountSid}" is not a Twilio account SID (AC...).`, {
      hint: accountSid.startsWith('SK')
        ? 'that is an API key: put it in TWILIO_API_KEY and the account SID (AC...) in TWILIO_ACCOUNT_SID.'
        : 'copy the Account SID from the Twilio console into TWILIO_ACCOUNT_SID.',
    });
  }
  if (apiKey || apiSecret) {
    if (!apiKey || !apiSecret) {
      throw new CallstreamError('CONFIG_ERROR', 'An API key needs both TWILIO_API_KEY (SK...) and TWILIO_API_SECRET.', {
        hint: 'set both, or use TWILIO_AUTH_TOKEN alone.',
      });
    }
    if (!apiKey.startsWith('SK')) {
      throw new CallstreamError('CONFIG_ERROR', `"${apiKey}" is not a Twilio API key SID (SK...).`, {
        hint: 'create an API key in the Twilio console (Account > API keys) and use its SID.',
      });
    }
  } else if (!authToken) {
    throw new CallstreamError('CONFIG_ERROR', 'No Twilio credentials: neither an auth token nor an API key + secret.', {
      hint: 'set TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET), in the environment or in .env.',
    });
  }
  return credentials as TwilioCredentials;
}

/**
 * A REST client of the official twilio helper for these credentials: API key + secret when given,
 * else the auth token; region and edge as the helper applies them; `apiBaseUrl` routes every
 * request to another origin through the helper's own `httpClient` option.
 */
export function createTwilioClient(credentials: Partial<TwilioCredentials>): TwilioClient {
  const checked = checkTwilioCredentials(credentials);
  const useKey = Boolean(checked.apiKey && checked.apiSecret);
  const options: twilio.ClientOpts = {
    accountSid: checked.accountSid,
    region: checked.region,
    edge: checked.edge,
    timeout: checked.timeoutMs,
  };
  if (checked.apiBaseUrl) options.httpClient = new BaseUrlRequestClient(checked.apiBaseUrl, { timeout: checked.timeoutMs });
  return useKey
    ? twilio(checked.apiKey, checked.apiSecret, options)
    : twilio(checked.accountSid, checked.authToken, options);
}

/** The Stream's `twilio` option: credentials (over the `TWILIO_*` environment), a ready client, or false for none. */
export type TwilioOption = Partial<TwilioCredentials> | TwilioClient | false;

/**
 * The REST client a Stream uses for call control, outbound calls and Twilio-side recording: the one
 * given, one made from the given credentials (missing fields from the environment), or, when the
 * option is absent, one from the environment if it names a complete account (else none).
 */
export function resolveTwilioClient(option: TwilioOption | undefined, env: NodeJS.ProcessEnv = process.env): TwilioClient | undefined {
  if (option === false) return undefined;
  if (isTwilioClient(option)) return option;
  const fromEnv = twilioCredentialsFromEnv(env);
  if (option === undefined) {
    const complete = fromEnv.accountSid && (fromEnv.authToken || (fromEnv.apiKey && fromEnv.apiSecret));
    return complete ? createTwilioClient(fromEnv) : undefined;
  }
  const given = Object.fromEntries(Object.entries(option).filter(([, value]) => value !== undefined));
  return createTwilioClient({ ...fromEnv, ...given });
}

/** True for a twilio helper client (rather than credentials). */
export function isTwilioClient(value: unknown): value is TwilioClient {
  return typeof value === 'object' && value !== null && typeof (value as { calls?: unknown }).calls === 'function';
}
