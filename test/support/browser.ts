import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './cli.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const OUTPUT_DIR = path.join(ROOT, 'test-output');

/**
 * Debian's Chromium, headless, with a fake microphone (a beep) granted without a prompt. The
 * project's setup (scripts/ensure-system-deps.sh, run by `npm test`) installs it; when it is missing
 * the browser tests fail, never skip.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/ensure-system-deps.sh (npm test does) or set CHROMIUM_PATH.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--allow-loopback-in-peer-connection',
      ...extraArgs,
    ],
  });
}

/** Where screenshots go (created on demand). */
export function screenshotPath(name: string): string {
  const dir = path.join(OUTPUT_DIR, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
