import {
  CallstreamError,
  type CustomParameters,
  type ErrorCode,
  type InputSpec,
  type InputValues,
  type ParticipantInfo,
  type RoomHandle,
  type SessionContext,
  type SessionFunction,
  WrongPinError,
} from '../../src/index.js';
import { JOINED_CUE, playCue, PROMPT_CUE, REFUSED_CUE, WRONG_CUE } from './cues.js';
import { keyedPin, nextInputs, pinOf } from './pin-entry.js';

/** The room a session joins when it names none. */
export const DEFAULT_ROOM = 'lobby';

/** A room name from anything a caller typed: letters, digits and `. : @ + _ -` kept, the rest dashes; the default when empty. */
export function roomName(value: unknown): string {
  const cleaned = String(value ?? '').trim().replace(/[^\w.:@+-]/g, '-').slice(0, 100);
  return cleaned.replace(/-/g, '') === '' ? DEFAULT_ROOM : cleaned;
}

/** The `room` input the page shows (browsers and WebSocket clients say which room through it). */
export const ROOM_INPUT: InputSpec = { name: 'room', type: 'text', label: 'Room', default: DEFAULT_ROOM, maxLength: 100 };

/** The `pin` input, declared when rooms need a PIN (no default: the page starts it empty). */
export const PIN_INPUT: InputSpec = { name: 'pin', type: 'text', label: 'PIN', maxLength: 64 };

/** What a phone caller hears before its stream connects when rooms need a PIN (Twilio's `<Say>`). */
export const PIN_GREETING = 'Welcome. After the beep, enter the conference PIN, then press the pound key.';

/** A phone call's room: the `room` query of the webhook URL (`.../telephone/incoming?room=sales`), else the default. */
export const roomFromCall: CustomParameters = (call) => ({ room: roomName(call.query?.room ?? call.params.room) });

/** How long a browser or program gets to send its `room` input before the default is used (ms). */
const INPUTS_WAIT_MS = 3000;

/** How long a session may take to get into its room, a PIN included, before it is refused (ms). */
export const LOBBY_MS = 60_000;

/** What a refused session is told (spoken to a phone call with Twilio credentials), by the join's error. */
const REFUSALS: Partial<Record<ErrorCode, string>> = {
  ROOM_FULL: 'This conference is full. Please try again later.',
  ROOM_LIMIT: 'No more conferences can start right now. Please try again later.',
  RATE_LIMITED: 'Too many wrong PINs. Please try again later.',
  ROOM_PIN_REQUIRED: 'No PIN was entered. Goodbye.',
};

/**
 * The `conference` demo: every session joins a room and hears everyone else in it. Phone calls join
 * the room named by the call's `room` custom parameter (from the webhook URL's query); browsers and
 * WebSocket clients the room of their `room` input; `lobby` by default. When rooms need a PIN (the
 * Stream's `rooms.pin`), phone callers key it in after a beep, ended by `#`, and browsers and
 * programs send it as their `pin` input; a wrong one is asked again until the session's tries run
 * out. A full room is said so (spoken on a phone call, an `error` message with its code otherwise),
 * then the session ends. Members get a line when someone joins or leaves; a phone caller shows as
 * the last four digits of its number.
 */
export function conference(): SessionFunction {
  const handler: SessionFunction = async (ctx: SessionContext) => {
    const deadline = Date.now() + LOBBY_MS;
    const phone = ctx.transport === 'telephone';
    let inputs: Readonly<InputValues> = phone ? {} : await inputsOrDefault(ctx);
    let pin = phone ? undefined : pinOf(inputs);
    const label = phone ? maskedNumber(ctx.facts.from) : undefined;
    for (;;) {
      if (ctx.signal.aborted) return;
      const name = phone ? roomName(ctx.facts.customParameters.room) : roomName(inputs.room);
      let error: unknown;
      try {
        const room = await ctx.join(name, { pin, label });
        if (phone && pin !== undefined) ctx.send(JOINED_CUE);
        welcome(ctx, room);
        return;
      } catch (caught) {
        error = caught;
      }
      if (error instanceof WrongPinError && error.triesLeft === 0) return; // the session is being hung up
      const code = error instanceof CallstreamError ? error.code : undefined;
      if (code !== 'ROOM_PIN_REQUIRED' && code !== 'BAD_PIN') return refuse(ctx, code);
      if (phone) {
        const keying = keyedPin(ctx, deadline - Date.now()); // keys pressed during the cues count
        if (code === 'BAD_PIN') await playCue(ctx, WRONG_CUE);
        ctx.send(PROMPT_CUE);
        const keyed = await keying;
        if (keyed === undefined) return refuse(ctx, 'ROOM_PIN_REQUIRED');
        pin = keyed || undefined;
      } else {
        ctx.sendMessage({ type: 'warning', code, message: `${(error as Error).message} Send the room's PIN as the pin input.` });
        let next: Readonly<InputValues> | undefined;
        do next = await nextInputs(ctx, deadline - Date.now());
        while (next !== undefined && pinOf(next) === pin && roomName(next.room) === name); // the same try again is no new guess
        if (next === undefined) return refuse(ctx, 'ROOM_PIN_REQUIRED');
        inputs = next;
        pin = pinOf(next);
      }
    }
  };
  handler.inputFormat = 'native';
  return handler;
}

/** In the room: the member is told who is there, and who comes and goes. */
function welcome(ctx: SessionContext, room: RoomHandle): void {
  const others = room.participants.filter((p) => p.id !== ctx.id).map(describe);
  ctx.sendMessage({ type: 'log', data: `You are in room "${room.name}"${others.length > 0 ? ` with ${others.join(', ')}` : ', alone for now'}.` });
  room.on('join', (p) => ctx.sendMessage({ type: 'log', data: `${describe(p)} joined.` }));
  room.on('leave', (p) => ctx.sendMessage({ type: 'log', data: `${describe(p)} left.` }));
  room.on('close', (reason) => ctx.close(reason === 'idle' ? 'Nothing was heard from you for a while: you left the room.' : 'The room closed.'));
}

/** Says why the session cannot join (a cue, then the line spoken, on a phone call; an `error` message otherwise) and ends it. */
async function refuse(ctx: SessionContext, code: ErrorCode | undefined): Promise<void> {
  if (ctx.signal.aborted) return;
  const line = (code && REFUSALS[code]) ?? 'Sorry, you cannot join this conference now.';
  if (ctx.transport === 'telephone') {
    await playCue(ctx, REFUSED_CUE);
    await ctx.hangUp({ say: line });
    return;
  }
  ctx.sendMessage({ type: 'error', message: line, ...(code ? { code } : {}) });
  ctx.close(line);
}

function describe(participant: ParticipantInfo): string {
  return `${participant.label} (${participant.transport})`;
}

/** A phone caller as the others see it: the last four digits of its number, never the whole number. */
function maskedNumber(from: string | undefined): string {
  const digits = (from ?? '').replace(/\D/g, '');
  return digits.length >= 4 ? `caller …${digits.slice(-4)}` : 'caller';
}

/** The client's inputs, or what the session has after a short wait (a client that never answers). */
async function inputsOrDefault(ctx: SessionContext): Promise<Readonly<InputValues>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readonly<InputValues>>((resolve) => {
    timer = setTimeout(() => resolve(ctx.inputs), INPUTS_WAIT_MS);
  });
  try {
    return await Promise.race([ctx.waitForInputs(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
