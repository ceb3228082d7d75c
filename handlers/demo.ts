import type { AudioHandler } from '../src/index.js';
import { EchoHandler, PcmEchoHandler } from './echo.js';
import { replyEcho } from './reply-echo.js';

/** The demo served when no handler is named. */
export const DEFAULT_DEMO_HANDLER = 'reply-echo';

/** Handlers the demo server and the CLI can serve by name (`CALLSTREAM_HANDLER`, `--handler`). */
export const DEMO_HANDLERS = {
  'reply-echo': () => replyEcho(),
  echo: () => new EchoHandler(),
  'echo-pcm16': () => new PcmEchoHandler(16000),
} satisfies Record<string, () => AudioHandler>;

export type DemoHandlerName = keyof typeof DEMO_HANDLERS;

/** The demo handler called `name`; throws with the list of names when there is none. */
export function demoHandler(name: string): AudioHandler {
  const make = (DEMO_HANDLERS as Record<string, (() => AudioHandler) | undefined>)[name];
  if (!make) throw new Error(`Unknown handler "${name}". Known handlers: ${Object.keys(DEMO_HANDLERS).join(', ')}.`);
  return make();
}
