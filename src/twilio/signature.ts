import twilio from 'twilio';

/**
 * Checks `X-Twilio-Signature` (HMAC-SHA1 of the public URL plus sorted POST params) with the
 * twilio helper. For a media-stream upgrade, `url` is the `wss://` URL and `params` is `{}`.
 */
export function isValidTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string>,
): boolean {
  if (!signature) return false;
  try {
    return twilio.validateRequest(authToken, signature, url, params);
  } catch {
    return false;
  }
}
