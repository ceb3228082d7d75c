import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { CallstreamError } from '../errors.js';

type RequestOptions<TData> = RequestClient.RequestOptions<TData>;
type RequestClientOptions = ConstructorParameters<typeof twilio.RequestClient>[0];

/**
 * The twilio helper's own HTTP client, sending every request to another base URL: the request's
 * origin (any Twilio host, after region/edge) is replaced by the base, its path and query are kept
 * (after the base's own path, if it has one). For tests and Twilio-compatible APIs.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  readonly baseUrl: string;

  constructor(baseUrl: string, options?: RequestClientOptions) {
    super(options);
    this.baseUrl = checkBaseUrl(baseUrl);
  }

  override request<TData>(opts: RequestOptions<TData>) {
    return super.request<TData>({ ...opts, uri: rebaseUrl(opts.uri, this.baseUrl) });
  }
}

/** `https://api.twilio.com/2010-04-01/X.json?a=1` on base `http://127.0.0.1:9/p` → `http://127.0.0.1:9/p/2010-04-01/X.json?a=1`. */
export function rebaseUrl(uri: string, baseUrl: string): string {
  const from = new URL(uri);
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}${from.pathname}${from.search}`;
}

/** Checks an API base URL (`TWILIO_API_BASE_URL`): absolute http(s), no query. */
export function checkBaseUrl(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new CallstreamError('CONFIG_ERROR', `The Twilio API base URL "${baseUrl}" is not an absolute URL.`, {
      hint: 'set TWILIO_API_BASE_URL to something like http://127.0.0.1:3000, or unset it to use Twilio.',
    });
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash) {
    throw new CallstreamError('CONFIG_ERROR', `The Twilio API base URL "${baseUrl}" must be http(s) without a query.`, {
      hint: 'set TWILIO_API_BASE_URL to something like https://api.example.com, or unset it to use Twilio.',
    });
  }
  return parsed.href;
}
