import { CallstreamError } from '../errors.js';
import { checkAccessToken } from '../http/access-token.js';
import { UsageError } from './exit.js';

/** The demo server's access token and what else protects a demo: the start rule's inputs. */
export interface DemoProtection {
  /** The Stream's `accessToken` (--auth-token, CALLSTREAM_AUTH_TOKEN). */
  accessToken: string | undefined;
  /** Checks Twilio's signatures (TWILIO_AUTH_TOKEN). */
  twilioAuthToken: string | undefined;
  /** The conference demo's room PIN (CALLSTREAM_ROOM_PIN). */
  roomPin: string | undefined;
}

/** parseArgs option of the commands that serve a demo. */
export const AUTH_TOKEN_OPTION = { 'auth-token': { type: 'string' } } as const;

/** The help line of --auth-token, its text starting at column `column`. */
export function authTokenHelp(column: number): string {
  return `${'  --auth-token'.padEnd(column)}Require this token on the page, the transports, inputs, outputs, status and metrics
${' '.repeat(column)}(env CALLSTREAM_AUTH_TOKEN, which keeps it out of the process list; default none).`;
}

/** The access token from --auth-token, else CALLSTREAM_AUTH_TOKEN (empty: none); a bad one is a usage error. */
export function accessTokenFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const source = flag !== undefined ? '--auth-token' : 'CALLSTREAM_AUTH_TOKEN';
  const token = flag ?? (env.CALLSTREAM_AUTH_TOKEN || undefined);
  try {
    return checkAccessToken(token);
  } catch {
    throw new UsageError(`invalid ${source}: it must be 16 to 512 visible ASCII characters, no spaces.`, 'make one with: openssl rand -hex 24');
  }
}

/** What protects a demo, from its access token and the environment. */
export function demoProtection(accessToken: string | undefined, twilioAuthToken: string | undefined, env: NodeJS.ProcessEnv = process.env): DemoProtection {
  return { accessToken, twilioAuthToken: twilioAuthToken || undefined, roomPin: env.CALLSTREAM_ROOM_PIN || undefined };
}

/** True for an address only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Why a server listening on `host` can be reached by strangers, or undefined when it cannot. */
export function whyPublic(host: string, publicUrl: string | undefined): string | undefined {
  if (publicUrl) return `PUBLIC_URL is ${publicUrl}`;
  if (!isLoopback(host)) return `it listens on ${host || 'every interface'}`;
  return undefined;
}

/** Demos that expose other people's calls or spend the operator's money, and what each needs in public. */
const GUARDED: Record<string, { risk: string; missing(p: DemoProtection): string[] }> = {
  desk: {
    risk: "shows callers' phone numbers and lets whoever opens /desk answer their calls",
    missing: (p) => [p.accessToken ? '' : 'CALLSTREAM_AUTH_TOKEN', p.twilioAuthToken ? '' : 'TWILIO_AUTH_TOKEN'].filter(Boolean),
  },
  'openai-realtime': {
    risk: 'spends your OpenAI key for whoever connects',
    missing: (p) => [p.accessToken ? '' : 'CALLSTREAM_AUTH_TOKEN', p.twilioAuthToken ? '' : 'TWILIO_AUTH_TOKEN'].filter(Boolean),
  },
  conference: {
    risk: 'lets whoever connects join a room and hear the callers in it',
    missing: (p) => [p.twilioAuthToken ? '' : 'TWILIO_AUTH_TOKEN', p.accessToken || p.roomPin ? '' : 'CALLSTREAM_AUTH_TOKEN (or CALLSTREAM_ROOM_PIN)'].filter(Boolean),
  },
};

/**
 * The start rule: a demo that exposes other people's calls (desk, conference) or spends the
 * operator's money (openai-realtime) does not start on a public host (`publicBecause`) without what
 * protects it. Throws CONFIG_ERROR (exit 3), its hint saying how to set what is missing.
 */
export function refuseUnprotectedDemo(handler: string, publicBecause: string | undefined, protection: DemoProtection): void {
  const guarded = GUARDED[handler];
  const missing = guarded?.missing(protection) ?? [];
  if (!guarded || !publicBecause || missing.length === 0) return;
  throw new CallstreamError('CONFIG_ERROR', `the ${handler} handler ${guarded.risk}, and this server is public (${publicBecause}): set ${missing.join(' and ')}.`, {
    hint: 'e.g. CALLSTREAM_AUTH_TOKEN=$(openssl rand -hex 24) (or --auth-token) and TWILIO_AUTH_TOKEN=<your Twilio auth token>; or try it privately: callstream serve --host 127.0.0.1 without PUBLIC_URL.',
  });
}

/** What the demo server says at start about who can reach what (warnings). */
export function demoAccessWarnings(handler: string, publicBecause: string | undefined, protection: DemoProtection): string[] {
  const warnings: string[] = [];
  const missing = GUARDED[handler]?.missing(protection) ?? [];
  if (!publicBecause && missing.length > 0) {
    warnings.push(`the ${handler} handler ${GUARDED[handler]!.risk}: fine on this machine, but set ${missing.join(' and ')} before making it public`);
  }
  if (publicBecause && !protection.accessToken) {
    warnings.push(`this server is public (${publicBecause}) and has no access token: anyone can use its page, WebSocket and Realtime endpoint; set CALLSTREAM_AUTH_TOKEN (or --auth-token) to require one`);
  }
  if (protection.accessToken && !protection.twilioAuthToken) {
    warnings.push('the access token guards the pages and transports, but without TWILIO_AUTH_TOKEN anyone can post the webhook and open a media stream');
  }
  return warnings;
}

/** The line that tells the operator how to open the page once the access token is required (the token itself is never logged). */
export function pageLinkHint(pageUrl: string): string {
  return `${pageUrl}?token=<CALLSTREAM_AUTH_TOKEN>`;
}
