import type { Context, Middleware } from 'koa';
import type { RtcConfiguration } from '../../options.js';

/**
 * `GET {path}/webrtc/configuration`: the RTCConfiguration the browser should use (ICE/TURN servers).
 * A function is called per request, so each page load can get fresh TURN credentials.
 */
export function rtcConfigurationRoute(
  source: RtcConfiguration | (() => RtcConfiguration | Promise<RtcConfiguration>) | undefined,
): Middleware {
  return async (ctx: Context) => {
    const configuration = typeof source === 'function' ? await source() : (source ?? {});
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { iceServers: [], ...configuration };
  };
}
