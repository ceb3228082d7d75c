import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** How often one kind of client fault may reach the log as a warning. */
export interface ClientFaultRule {
  /** Warnings per kind in a window; the rest go to debug. */
  warnings: number;
  windowMs: number;
}

interface Kind {
  windowStart: number;
  warned: number;
  /** Logged at debug only since this kind's last warning. */
  heldBack: number;
}

/**
 * How a client's misbehaviour (a forged signature, a protocol violation, a peer that stops reading)
 * reaches the log. Error level is for the server's own faults; anyone can repeat these, so each
 * kind (its message) is a warning at most `warnings` times per window and debug after that, and the
 * next warning says how many were held back. Fields are logged as given: pass messages and codes,
 * never an error with its stack.
 */
export class ClientFaults {
  /** Kinds tracked at most (messages are the code's own, but some name a route); past it the oldest kind is forgotten. */
  static readonly MAX_KINDS = 256;
  private readonly kinds = new Map<string, Kind>();

  constructor(
    private readonly clock: Clock,
    private readonly rule: ClientFaultRule = { warnings: 5, windowMs: 60_000 },
  ) {}

  /** Kinds tracked now. */
  get kindCount(): number {
    return this.kinds.size;
  }

  /** Logs one fault of kind `message` on `log` (a child logger, so it keeps its context). */
  warn(log: Logger, fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    let kind = this.kinds.get(message);
    if (!kind) {
      if (this.kinds.size >= ClientFaults.MAX_KINDS) this.kinds.delete(this.kinds.keys().next().value!);
      kind = { windowStart: now, warned: 0, heldBack: 0 };
      this.kinds.set(message, kind);
    }
    if (now - kind.windowStart >= this.rule.windowMs) {
      kind.windowStart = now;
      kind.warned = 0;
    }
    if (kind.warned >= this.rule.warnings) {
      kind.heldBack++;
      log.debug(fields, message);
      return;
    }
    kind.warned++;
    log.warn(kind.heldBack > 0 ? { ...fields, heldBack: kind.heldBack } : fields, message);
    kind.heldBack = 0;
  }
}
