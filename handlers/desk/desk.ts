import { randomBytes } from 'node:crypto';
import type { ParticipantInfo, SessionContext, SessionFunction } from '../../src/index.js';
import { holdSound } from './hold-sound.js';

/** A caller as the desk page lists it. */
export interface DeskCaller {
  /** Its session's id. */
  id: string;
  /** The number it called from (`unknown` when Twilio did not say). */
  from: string;
  /** When it started waiting (ms since the epoch). */
  since: number;
  /** `waiting`; `answering` (an agent's page is connecting); `connected` (bridged with an agent). */
  state: 'waiting' | 'answering' | 'connected';
}

interface Entry extends DeskCaller {
  ctx: SessionContext;
  ticket: string | undefined;
  release: NodeJS.Timeout | undefined;
  /** Stops the hold sound and joins the caller to `room`. */
  answer(room: string): Promise<void>;
}

/** How long an answer waits for the agent's page to connect before the caller goes back to the queue (ms). */
const ANSWER_WAIT_MS = 30_000;

/**
 * The `desk` demo: phone callers wait in a queue, hearing a hold sound; a person at the desk page
 * (`{path}/desk`) sees them live and answers one: the page gets a ticket, connects with it as its
 * WebRTC id, and its session and the caller's are bridged in a room of their own. Either side
 * hanging up ends the other; the page's keypad plays digits to the caller (only the caller hears
 * them). One instance: the queue lives in this process.
 */
export class Desk {
  private readonly callers = new Map<string, Entry>();
  /** Tickets (the agent's WebRTC id) → the caller it answers. */
  private readonly tickets = new Map<string, string>();
  private readonly listeners = new Set<(queue: DeskCaller[]) => void>();

  /** The handler to serve: phone calls queue, browsers (with a ticket) answer. */
  readonly handler: SessionFunction = async (ctx) => {
    if (ctx.transport === 'telephone') await this.queueCaller(ctx);
    else await this.answerCaller(ctx);
  };

  /** Callers waiting or being talked to, oldest first. */
  queue(): DeskCaller[] {
    return [...this.callers.values()].map(({ id, from, since, state }) => ({ id, from, since, state }));
  }

  /** Calls `listener` with the queue whenever it changes; returns the way to stop. */
  onChange(listener: (queue: DeskCaller[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reserves a waiting caller for the page that asks: its ticket is the WebRTC id the page then
   * connects with. `gone` when the caller hung up, `taken` when someone else answered.
   */
  reserve(callerId: string): { ticket: string } | { error: 'gone' | 'taken' } {
    const entry = this.callers.get(callerId);
    if (!entry) return { error: 'gone' };
    if (entry.state !== 'waiting') return { error: 'taken' };
    const ticket = randomBytes(18).toString('base64url');
    entry.state = 'answering';
    entry.ticket = ticket;
    this.tickets.set(ticket, callerId);
    entry.release = setTimeout(() => {
      // The page never connected: the caller waits again.
      if (entry.ticket !== ticket || entry.state !== 'answering') return;
      this.tickets.delete(ticket);
      entry.ticket = undefined;
      entry.state = 'waiting';
      this.changed();
    }, ANSWER_WAIT_MS);
    entry.release.unref();
    this.changed();
    return { ticket };
  }

  private async queueCaller(ctx: SessionContext): Promise<void> {
    const hold = new AbortController();
    const entry: Entry = {
      id: ctx.id,
      from: ctx.facts.from ?? 'unknown',
      since: Date.now(),
      state: 'waiting',
      ctx,
      ticket: undefined,
      release: undefined,
      answer: async (name) => {
        hold.abort();
        ctx.interrupt();
        const room = await ctx.join(name, { label: entry.from, sampleRate: 8000, maxParticipants: 2 });
        entry.state = 'connected';
        this.changed();
        // The agent hanging up (or the room closing) ends the call.
        room.on('leave', () => void ctx.hangUp());
        room.on('close', () => void ctx.hangUp());
      },
    };
    this.callers.set(ctx.id, entry);
    ctx.on('stop', () => {
      clearTimeout(entry.release);
      if (entry.ticket) this.tickets.delete(entry.ticket);
      this.callers.delete(ctx.id);
      this.changed();
    });
    this.changed();
    ctx.log.info({ from: entry.from }, 'desk: caller waiting');
    await ctx.play(holdSound(), { signal: hold.signal });
  }

  private async answerCaller(ctx: SessionContext): Promise<void> {
    const callerId = this.tickets.get(ctx.id);
    const entry = callerId === undefined ? undefined : this.callers.get(callerId);
    if (!entry || entry.state !== 'answering' || entry.ticket !== ctx.id) {
      const message = 'No caller waits for this page: open the desk and answer one.';
      ctx.sendMessage({ type: 'error', message });
      ctx.close(message);
      return;
    }
    this.tickets.delete(ctx.id);
    clearTimeout(entry.release);
    entry.ticket = undefined;
    const name = `desk-${entry.id}`;
    try {
      const room = await ctx.join(name, { label: 'Desk', sampleRate: 8000, maxParticipants: 2 });
      await entry.answer(name);
      ctx.log.info({ caller: entry.from }, 'desk: answered');
      ctx.sendMessage({ type: 'log', data: `Connected to ${entry.from}.` });
      const end = (who: ParticipantInfo | undefined) => ctx.close(`${who?.label ?? 'The caller'} hung up.`);
      room.on('leave', (who) => end(who));
      room.on('close', () => end(undefined));
      // The keypad: digits go to the caller as tones, heard by the caller alone.
      ctx.on('dtmf', (digit) => {
        if (!entry.ctx.signal.aborted) entry.ctx.sendDigits(digit);
      });
    } catch (error) {
      const message = `The call could not be answered: ${error instanceof Error ? error.message : String(error)}`;
      ctx.sendMessage({ type: 'error', message });
      ctx.close(message);
    }
  }

  private changed(): void {
    const queue = this.queue();
    for (const listener of [...this.listeners]) listener(queue);
  }
}
