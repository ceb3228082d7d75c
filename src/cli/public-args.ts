import { FixedUrlTunnel } from '../../tunnels/fixed-url.js';
import { LocalTunnel, validateSubdomain } from '../../tunnels/localtunnel.js';
import type { Tunnel } from '../../tunnels/tunnel.js';
import { CallstreamError } from '../errors.js';
import { parseSeconds } from './args.js';
import { UsageError } from './exit.js';
import { helpLine } from './help.js';

/** Command-line pieces of the commands that serve through a public URL for a Twilio account (fastphone, call). */

/** parseArgs options choosing the public URL: a localtunnel tunnel (the default) or a fixed URL. */
export const TUNNEL_OPTIONS = {
  subdomain: { type: 'string' },
  'tunnel-host': { type: 'string' },
  'tunnel-timeout': { type: 'string' },
  'public-url': { type: 'string' },
} as const;

/** Help lines for the tunnel options, the descriptions starting at column `column`. */
export function tunnelHelp(column: number): string {
  return [
    helpLine('--subdomain', 'Ask localtunnel for this name (4-63 of a-z, 0-9 and inner hyphens).', column),
    helpLine('--tunnel-host', 'Another localtunnel server (default https://localtunnel.me).', column),
    helpLine('--tunnel-timeout', 'Seconds to wait for the tunnel (default 15).', column),
    helpLine('--public-url', 'A URL that already reaches --host:--port (deployment, proxy, ngrok...): no tunnel.', column),
  ].join('\n');
}

export const TWILIO_ENV_HELP = `Environment (also read from ./.env; variables already set win):
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN   the account; the auth token also checks webhook signatures
  TWILIO_API_KEY, TWILIO_API_SECRET       REST with an API key (SK...) instead of the auth token
  TWILIO_REGION, TWILIO_EDGE              Twilio region and edge, as the twilio helper names them
  TWILIO_API_BASE_URL                     another REST base URL (tests, Twilio-compatible APIs)
  LOG_LEVEL                               pino level of the JSON log lines (default info)`;

type TunnelValues = { subdomain?: string; 'tunnel-host'?: string; 'tunnel-timeout'?: string; 'public-url'?: string };

/** The tunnel the flags ask for: a fixed URL, a configured localtunnel, or undefined for the default localtunnel. */
export function tunnelFrom(values: TunnelValues): Tunnel | undefined {
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined) {
    const clash = (['subdomain', 'tunnel-host', 'tunnel-timeout'] as const).filter((key) => values[key] !== undefined);
    if (clash.length > 0) throw new UsageError(`--public-url opens no tunnel, so --${clash.join(' and --')} cannot apply.`, 'use either --public-url or the tunnel options.');
    return asUsage(() => new FixedUrlTunnel(publicUrl));
  }
  if (values.subdomain === undefined && values['tunnel-host'] === undefined && values['tunnel-timeout'] === undefined) return undefined;
  const subdomain = values.subdomain === undefined ? undefined : asUsage(() => validateSubdomain(values.subdomain!));
  const startTimeoutMs = parseSeconds(values['tunnel-timeout'], 15_000, '--tunnel-timeout');
  return asUsage(() => new LocalTunnel({ host: values['tunnel-host'], subdomain, startTimeoutMs }));
}

/** Turns a CONFIG_ERROR about a flag's value into a usage error (exit 2). */
export function asUsage<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof CallstreamError && error.code === 'CONFIG_ERROR') throw new UsageError(error.message, error.hint);
    throw error;
  }
}
