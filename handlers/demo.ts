import { accessTokenAuthorizer, type AudioHandler, Stream, type StreamOptions, type VideoFunction } from '../src/index.js';
import { conference, conferencePin, DEFAULT_ROOM, PIN_GREETING, PIN_INPUT, ROOM_INPUT, roomFromCall } from './conference/index.js';
import { Desk, type DeskAuthorize, deskPage } from './desk/index.js';
import { EchoHandler, PcmEchoHandler } from './echo.js';
import { openaiRealtime, realtimeOptionsFromEnv } from './openai-realtime/index.js';
import { replyEcho } from './reply-echo.js';
import { flip, invert } from './video.js';

/** The demo served when no handler is named. */
export const DEFAULT_DEMO_HANDLER = 'reply-echo';

/** A demo: its handler, the Stream options it needs (video demos set the modality), and what it adds to its Stream (pages). */
export interface DemoHandler {
  handler: AudioHandler | VideoFunction;
  options: Pick<StreamOptions, 'modality' | 'uiArgs' | 'additionalInputs' | 'customParameters' | 'rooms' | 'telephone' | 'concurrencyLimit' | 'timeLimit'>;
  /** Called with the Stream before it is mounted. */
  setup?(stream: Stream): void;
  /** What to tell a person at start about this demo's own pages, given the server's URL (the demo server logs each line). */
  welcome?(url: string): string[];
}

/**
 * The openai-realtime demo's limits unless the caller sets its own (`CONCURRENCY_LIMIT`, `TIME_LIMIT`):
 * every session opens a model session billed to the operator's key.
 */
export const REALTIME_DEMO_LIMITS = { concurrencyLimit: 10, timeLimit: 600 } as const;

/** Handlers the demo server and the CLI can serve by name (`CALLSTREAM_HANDLER`, `--handler`). */
export const DEMO_HANDLERS = {
  'reply-echo': () => ({ handler: replyEcho(), options: { uiArgs: { title: 'Say something, then pause', subtitle: 'ReplyOnPause plays back what you said.' } } }),
  echo: () => ({ handler: new EchoHandler(), options: { uiArgs: { title: 'Echo', subtitle: 'You hear yourself, with no transcoding.' } } }),
  'echo-pcm16': () => ({ handler: new PcmEchoHandler(16000), options: {} }),
  // OPENAI_API_KEY (required), OPENAI_REALTIME_MODEL, OPENAI_REALTIME_INSTRUCTIONS, OPENAI_REALTIME_VOICE, OPENAI_REALTIME_URL.
  'openai-realtime': () => ({
    handler: openaiRealtime(realtimeOptionsFromEnv()),
    options: { ...REALTIME_DEMO_LIMITS, uiArgs: { title: 'Talk to a speech-to-speech model', subtitle: 'OpenAI Realtime: talk over it to cut it off.' } },
    setup: (stream: Stream) => sayRealtimeLimits(stream),
  }),
  // Every session joins a room: phone calls by the webhook URL's ?room=, browsers and programs by their `room` input; lobby by default.
  // CALLSTREAM_ROOM_PIN: every room needs it (phone callers key it in, browsers and programs send it as their `pin` input).
  conference: () => {
    const pin = conferencePin();
    return {
      handler: conference(),
      options: {
        additionalInputs: pin === undefined ? [ROOM_INPUT] : [ROOM_INPUT, PIN_INPUT],
        customParameters: roomFromCall,
        ...(pin === undefined ? {} : { rooms: { pin }, telephone: { greeting: PIN_GREETING } }),
        uiArgs: { title: 'Conference', subtitle: 'Everyone in the same room hears everyone else: phones, browsers and programs.', startLabel: 'Join the room', replyLabel: 'Room' },
      },
      welcome: (url: string) => [
        `conference: open ${url}/ and name a room in its Room field (default "${DEFAULT_ROOM}")${pin === undefined ? '' : ' with the room PIN'}; everyone in a room hears everyone else`,
        `conference: a phone number whose voice webhook is ${url}/telephone/incoming?room=NAME puts its callers in room NAME`,
      ],
    };
  },
  // Phone callers wait; a person answers them from {path}/desk.
  desk: () => {
    const desk = new Desk();
    return {
      handler: desk.handler,
      options: { rooms: { sampleRate: 8000 }, uiArgs: { title: 'Desk', subtitle: 'Callers wait on hold; answer them from the desk page at /desk.' } },
      setup: (stream: Stream) => stream.addPage('desk', deskPage(desk, deskAccess(stream))),
      welcome: (url: string) => [`desk: phone callers wait on hold; answer them at ${url}/desk`],
    };
  },
  invert: () => ({ handler: invert, options: { modality: 'video', uiArgs: { title: 'Invert', subtitle: 'Your camera, as a negative.' } } }),
  flip: () => ({ handler: flip, options: { modality: 'video', uiArgs: { title: 'Flip', subtitle: 'Your camera, upside down.' } } }),
} satisfies Record<string, () => DemoHandler>;

export type DemoHandlerName = keyof typeof DEMO_HANDLERS;

/** One start-up line naming what bounds the spending of the operator's OpenAI key. */
function sayRealtimeLimits(stream: Stream): void {
  const { concurrencyLimit, timeLimitMs, idleTimeoutMs } = stream.options;
  const limits = {
    concurrencyLimit: concurrencyLimit === Infinity ? null : concurrencyLimit,
    timeLimit: timeLimitMs === undefined ? null : timeLimitMs / 1000,
    idleTimeout: idleTimeoutMs === undefined ? null : idleTimeoutMs / 1000,
  };
  const said = (value: number | null, unit = '') => (value === null ? 'no limit' : `${value}${unit}`);
  stream.logger.info(
    limits,
    `openai-realtime: each session spends your OpenAI key; sessions at once: ${said(limits.concurrencyLimit)}, ` +
      `time limit: ${said(limits.timeLimit, ' s')}, ended when idle for ${said(limits.idleTimeout, ' s')} (CONCURRENCY_LIMIT and TIME_LIMIT change the first two)`,
  );
}

/**
 * Who may use the demo's desk: whoever carries the Stream's access token; without one, anyone who
 * reaches the server (the demo server serves the desk so only on a private host: 127.0.0.1, no
 * tunnel, no PUBLIC_URL).
 */
function deskAccess(stream: Stream): DeskAuthorize {
  const token = stream.options.accessToken;
  return token === undefined ? () => true : accessTokenAuthorizer(token);
}

/** The demo called `name`; throws with the list of names when there is none. */
export function demoHandler(name: string): DemoHandler {
  const make = (DEMO_HANDLERS as Record<string, (() => DemoHandler) | undefined>)[name];
  if (!make) throw new Error(`Unknown handler "${name}". Known handlers: ${Object.keys(DEMO_HANDLERS).join(', ')}.`);
  return make();
}

/** A Stream serving the demo called `name`, with `options` on top of what the demo needs. */
export function createDemoStream(name: string, options: StreamOptions = {}): Stream {
  return createDemo(name, options).stream;
}

/** The demo called `name` ready to mount: its Stream, and what to tell a person once it listens at a URL. */
export function createDemo(name: string, options: StreamOptions = {}): { stream: Stream; welcome(url: string): string[] } {
  const demo = demoHandler(name);
  // An option left undefined (a CLI flag not given) keeps the demo's own default.
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as StreamOptions;
  const stream = new Stream(demo.handler, {
    ...demo.options,
    ...given,
    uiArgs: { ...demo.options.uiArgs, ...options.uiArgs },
    rooms: { ...demo.options.rooms, ...options.rooms },
    telephone: { ...demo.options.telephone, ...options.telephone },
  });
  demo.setup?.(stream);
  return { stream, welcome: (url) => demo.welcome?.(url) ?? [] };
}
