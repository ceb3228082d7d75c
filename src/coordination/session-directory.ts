import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Session } from '../session/session.js';
import type { BusMessage, Coordination } from './coordination.js';

/** Answers one kind of message about a session that lives on this instance. */
export type SessionOp = (session: Session, message: BusMessage) => unknown;

/** Answers the messages for keys of one prefix (`call:`, `outbound:`) held by this instance. */
export type KeyOp = (key: string, message: BusMessage) => unknown;

/**
 * The sessions of the deployment as this instance sees them: its own live sessions by id, and a way
 * to reach any other session by id through the coordination (its holder answers). Each concern
 * registers the messages it answers (`handle`): trickled candidates, inputs, outputs, ending...
 * Session ids are claimed deployment-wide for as long as they live, so an id is never used twice.
 */
export class SessionDirectory {
  private readonly local = new Map<string, Session>();
  private readonly ops = new Map<string, SessionOp>();
  private readonly prefixes = new Map<string, KeyOp>();
  private readonly keyed = new Map<string, KeyOp>();
  private readonly claimed = new Set<string>();

  constructor(
    private readonly coordination: Coordination,
    private readonly logger: Logger,
  ) {
    coordination.onMessage((key, message) => this.dispatch(key, message));
  }

  /** A live session of this instance. */
  get(id: string): Session | undefined {
    return this.local.get(id);
  }

  /** This instance's live sessions. */
  sessions(): Session[] {
    return [...this.local.values()];
  }

  get size(): number {
    return this.local.size;
  }

  /** Answers `type` messages for this instance's sessions. */
  handle(type: string, op: SessionOp): void {
    this.ops.set(type, op);
  }

  /** Answers `type` messages for any key this instance claimed, with or without a session yet (e.g. a peer still negotiating). */
  handleKeyed(type: string, op: KeyOp): void {
    this.keyed.set(type, op);
  }

  /** Answers messages for keys starting with `prefix` that this instance claimed. */
  handlePrefix(prefix: string, op: KeyOp): void {
    this.prefixes.set(prefix, op);
  }

  /**
   * Claims keys deployment-wide, all or none, once (a second claim of a key held here is refused
   * too); resolves with what was kept for them, or undefined when one is taken.
   */
  async claim(key: string, ...more: string[]): Promise<unknown[] | undefined> {
    const keys = [key, ...more];
    if (keys.some((k) => this.claimed.has(k)) || new Set(keys).size !== keys.length) return undefined;
    for (const k of keys) this.claimed.add(k);
    try {
      const kept = await this.coordination.claim(key, ...more);
      if (!kept) for (const k of keys) this.claimed.delete(k);
      return kept;
    } catch (error) {
      for (const k of keys) this.claimed.delete(k);
      throw error;
    }
  }

  unclaim(key: string): void {
    if (this.claimed.delete(key)) this.coordination.unclaim(key);
  }

  /** Lists an opened session (its id already claimed); on stop it leaves, and its id is given back. */
  add(session: Session, alsoClaimed: string[] = []): void {
    this.local.set(session.id, session);
    session.onEnd(() => {
      if (this.local.get(session.id) === session) this.local.delete(session.id);
      for (const key of [session.id, ...alsoClaimed]) this.unclaim(key);
    });
  }

  /**
   * Sends a message to session `id` wherever it lives and resolves with its answer. Rejects with
   * NOT_FOUND when no instance holds it.
   */
  async send(id: string, message: BusMessage): Promise<unknown> {
    const session = this.local.get(id);
    if (session) return this.answer(session, message);
    const delivery = await this.coordination.ask(id, message);
    if (delivery.kind === 'replied') return delivery.value;
    throw new CallstreamError('NOT_FOUND', `No live session with id "${id.slice(0, 128)}".`);
  }

  private async dispatch(key: string, message: BusMessage): Promise<unknown> {
    const keyed = this.keyed.get(message.type);
    if (keyed) return keyed(key, message);
    const session = this.local.get(key);
    if (session) return this.answer(session, message);
    for (const [prefix, op] of this.prefixes) if (key.startsWith(prefix)) return op(key, message);
    throw new CallstreamError('NOT_FOUND', `No live session with id "${key.slice(0, 128)}".`);
  }

  private async answer(session: Session, message: BusMessage): Promise<unknown> {
    const op = this.ops.get(message.type);
    if (!op) {
      this.logger.debug({ type: message.type, sessionId: session.id }, 'directory: message of unknown type');
      throw new CallstreamError('BAD_REQUEST', `Unknown session message "${String(message.type).slice(0, 40)}".`);
    }
    return op(session, message);
  }
}
