import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { CallstreamError } from '../errors.js';

const found = new Map<string, string>();

/**
 * The ffmpeg binary video needs: `FFMPEG_PATH`, else the first `ffmpeg` on PATH. Throws one clear
 * error when there is none (audio Streams never call this).
 */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const key = `${env.FFMPEG_PATH ?? ''}|${env.PATH ?? ''}`;
  const cached = found.get(key);
  if (cached) return cached;
  const candidates = env.FFMPEG_PATH ? [env.FFMPEG_PATH] : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'ffmpeg'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      found.set(key, candidate);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new CallstreamError(
    'CONFIG_ERROR',
    env.FFMPEG_PATH
      ? `FFMPEG_PATH is set to ${env.FFMPEG_PATH}, which is not an executable: video needs ffmpeg with libvpx.`
      : 'Video needs ffmpeg (with libvpx) and none is on PATH: install it (apt-get install ffmpeg) or set FFMPEG_PATH.',
  );
}
