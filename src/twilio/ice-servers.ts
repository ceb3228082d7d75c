import { type Clock, systemClock } from '../clock.js';
import type { IceServer, RtcConfiguration } from '../options.js';
import { twilioFailure } from './api-error.js';
import type { TwilioClient } from './client.js';

export interface TwilioIceOptions {
  /** How long the TURN credentials stay valid (seconds). Default 86400, Twilio's. */
  ttlSeconds?: number;
  /** `relay` makes peers use only TURN (media always through Twilio's relays). Default: all candidates. */
  iceTransportPolicy?: 'all' | 'relay';
}

/**
 * STUN and TURN servers with short-lived credentials from Twilio's Network Traversal Service
 * (`client.tokens.create()`), as an RTCConfiguration: for `serverRtcConfiguration`, or the page's
 * `rtcConfiguration`. Twilio's order is kept (STUN, then TURN over UDP first), which matters to
 * werift: it uses only the first STUN and the first TURN URL.
 */
export async function twilioIceServers(client: TwilioClient, options: TwilioIceOptions = {}): Promise<RtcConfiguration> {
  let token: { iceServers: { urls?: string; url?: string; username?: string; credential?: string }[] };
  try {
    token = await client.tokens.create(options.ttlSeconds === undefined ? {} : { ttl: options.ttlSeconds });
  } catch (error) {
    throw twilioFailure(error, 'create a Network Traversal Service token (TURN credentials)');
  }
  const iceServers: IceServer[] = [];
  for (const server of token.iceServers) {
    const urls = server.urls ?? server.url;
    if (!urls) continue;
    iceServers.push({
      urls,
      ...(server.username ? { username: server.username } : {}),
      ...(server.credential ? { credential: server.credential } : {}),
    });
  }
  return options.iceTransportPolicy ? { iceServers, iceTransportPolicy: options.iceTransportPolicy } : { iceServers };
}

/**
 * A Stream `rtcConfiguration` function: every page load gets Twilio TURN credentials, reused while
 * more than half their lifetime remains (so page loads do not each create a token).
 */
export function twilioRtcConfiguration(client: TwilioClient, options: TwilioIceOptions & { clock?: Clock } = {}): () => Promise<RtcConfiguration> {
  const clock = options.clock ?? systemClock;
  const reuseMs = ((options.ttlSeconds ?? 86_400) * 1000) / 2;
  let cached: { configuration: Promise<RtcConfiguration>; until: number } | undefined;
  return () => {
    if (!cached || clock.now() >= cached.until) {
      const configuration = twilioIceServers(client, options);
      cached = { configuration, until: clock.now() + reuseMs };
      // A failure is not kept: the next page load asks again.
      configuration.catch(() => {
        if (cached?.configuration === configuration) cached = undefined;
      });
    }
    return cached.configuration;
  };
}
