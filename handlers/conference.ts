import type { CustomParameters, InputSpec, ParticipantInfo, SessionContext, SessionFunction } from '../src/index.js';

/** The room a session joins when it names none. */
export const DEFAULT_ROOM = 'lobby';

/** A room name from anything a caller typed: letters, digits and `. : @ + _ -` kept, the rest dashes; the default when empty. */
export function roomName(value: unknown): string {
  const cleaned = String(value ?? '').trim().replace(/[^\w.:@+-]/g, '-').slice(0, 100);
  return cleaned.replace(/-/g, '') === '' ? DEFAULT_ROOM : cleaned;
}

/** The `room` input the page shows (browsers and WebSocket clients say which room through it). */
export const ROOM_INPUT: InputSpec = { name: 'room', type: 'text', label: 'Room', default: DEFAULT_ROOM, maxLength: 100 };

/** A phone call's room: the `room` query of the webhook URL (`.../telephone/incoming?room=sales`), else the default. */
export const roomFromCall: CustomParameters = (call) => ({ room: roomName(call.query?.room ?? call.params.room) });

/** How long a browser or program gets to send its `room` input before the default is used (ms). */
const INPUTS_WAIT_MS = 3000;

/**
 * The `conference` demo: every session joins a room and hears everyone else in it. Phone calls join
 * the room named by the call's `room` custom parameter (from the webhook URL's query); browsers and
 * WebSocket clients the room of their `room` input; `lobby` by default. Clients get a log line when
 * someone joins or leaves.
 */
export function conference(): SessionFunction {
  const handler: SessionFunction = async (ctx: SessionContext) => {
    const name = ctx.transport === 'telephone' ? roomName(ctx.facts.customParameters.room) : roomName((await inputsOrDefault(ctx)).room);
    if (ctx.signal.aborted) return;
    let room;
    try {
      room = await ctx.join(name);
    } catch (error) {
      // A full room (or too many rooms): say so and end, rather than fail the session.
      const message = error instanceof Error ? error.message : String(error);
      ctx.sendMessage({ type: 'warning', message });
      ctx.close(message);
      return;
    }
    const others = room.participants.filter((p) => p.id !== ctx.id).map(describe);
    ctx.sendMessage({ type: 'log', data: `You are in room "${room.name}"${others.length > 0 ? ` with ${others.join(', ')}` : ', alone for now'}.` });
    room.on('join', (p) => ctx.sendMessage({ type: 'log', data: `${describe(p)} joined.` }));
    room.on('leave', (p) => ctx.sendMessage({ type: 'log', data: `${describe(p)} left.` }));
    room.on('close', () => ctx.close('The room closed.'));
  };
  handler.inputFormat = 'native';
  return handler;
}

function describe(participant: ParticipantInfo): string {
  return `${participant.label} (${participant.transport})`;
}

/** The client's inputs, or what the session has after a short wait (a client that never answers). */
async function inputsOrDefault(ctx: SessionContext): Promise<Readonly<Record<string, unknown>>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
    timer = setTimeout(() => resolve(ctx.inputs), INPUTS_WAIT_MS);
  });
  try {
    return await Promise.race([ctx.waitForInputs(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
