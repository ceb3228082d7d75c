import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { CallstreamError } from '../errors.js';

const found = new Map<string, string>();

/** A program run as a codec process. */
export interface Program {
  /** For error messages. */
  name: string;
  command: string;
  args: string[];
}

/** The first executable named `name` on PATH (or the one `override` names), or undefined. */
export function findExecutable(name: string, override: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = `${name}|${override ?? ''}|${env.PATH ?? ''}`;
  if (found.has(key)) return found.get(key);
  const candidates = override ? [override] : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      found.set(key, candidate);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * The ffmpeg binary video needs: `FFMPEG_PATH`, else the first `ffmpeg` on PATH. Throws one clear
 * error when there is none (audio Streams never call this).
 */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const ffmpeg = findExecutable('ffmpeg', env.FFMPEG_PATH, env);
  if (ffmpeg) return ffmpeg;
  throw new CallstreamError(
    'CONFIG_ERROR',
    env.FFMPEG_PATH
      ? `FFMPEG_PATH is set to ${env.FFMPEG_PATH}, which is not an executable: video needs ffmpeg with libvpx.`
      : 'Video needs ffmpeg (with libvpx) and none is on PATH: install it (apt-get install ffmpeg) or set FFMPEG_PATH.',
  );
}

/**
 * libvpx's own `vpxdec` (Debian: vpx-tools), run through coreutils' `stdbuf -o0` so each decoded
 * frame leaves at once: Debian's ffmpeg 5.1 holds one decoded frame until the next arrives (~33 ms
 * at 30 fps), vpxdec does not. `VPXDEC_PATH` names it; `VPXDEC_PATH=none` turns it off. Undefined
 * when either program is missing.
 */
export function findVpxdec(env: NodeJS.ProcessEnv = process.env): Program | undefined {
  if (env.VPXDEC_PATH === 'none') return undefined;
  const vpxdec = findExecutable('vpxdec', env.VPXDEC_PATH, env);
  const stdbuf = findExecutable('stdbuf', undefined, env);
  if (!vpxdec || !stdbuf) return undefined;
  // --keep-going: a corrupt frame (a lost packet) is reported, not fatal.
  return { name: 'vpxdec', command: stdbuf, args: ['-o0', vpxdec, '--keep-going', '--i420', '-o', '-', '-'] };
}
