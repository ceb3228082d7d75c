import type { Logger } from '../logger.js';

/** How often a warning reminds that an outage goes on (ms). */
export const OUTAGE_REMINDER_MS = 5 * 60_000;

/**
 * How an outage of the coordination store reaches the log: one warning when it begins (whichever
 * trouble says so first: a dropped connection, a failed command, a failed renewal), a reminder at
 * most every `remindEveryMs` while it lasts (with how long, and how many troubles since), and one
 * info line when the store answers again. Every other trouble of the same outage goes to debug, so
 * requests refused during it add nothing above debug.
 */
export class OutageLog {
  private since: number | undefined;
  private lastWarned = 0;
  private troubles = 0;

  constructor(
    private readonly logger: Logger,
    private readonly remindEveryMs = OUTAGE_REMINDER_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True from the first trouble until `recovered()`. */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** Something failed because the store is away. */
  trouble(fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    if (this.since === undefined) {
      this.since = this.lastWarned = now;
      this.troubles = 0;
      this.logger.warn(fields, message);
      return;
    }
    this.troubles++;
    if (now - this.lastWarned < this.remindEveryMs) {
      this.logger.debug(fields, message);
      return;
    }
    this.lastWarned = now;
    this.logger.warn({ ...fields, awayMs: Math.round(now - this.since), troublesSince: this.troubles }, `still: ${message}`);
    this.troubles = 0;
  }

  /** The store answers again: one info line if an outage was said, else nothing. */
  recovered(fields: Record<string, unknown>, message: string): void {
    if (this.since === undefined) return;
    this.logger.info({ ...fields, awayMs: Math.round(this.now() - this.since) }, message);
    this.since = undefined;
  }
}
