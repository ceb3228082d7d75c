import type { Clock, TimerHandle } from '../clock.js';
import type { Membership } from './membership.js';

interface Watched {
  /** The session's inbound frame count when last looked at. */
  frames: number;
  /** When that count last moved (clock ms). */
  activeAt: number;
}

/**
 * Room participants whose client sends no audio at all (silence is audio): one timer looks at each
 * participant's inbound frame count every quarter of `idleMs`, and hands one whose count has not
 * moved for `idleMs` to `onIdle`. Nothing happens per frame. A participant is let go between `idleMs`
 * and `idleMs` plus a quarter after its last frame.
 */
export class IdleParticipants {
  private readonly watched = new Map<Membership, Watched>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly clock: Clock,
    private readonly onIdle: (membership: Membership) => void,
  ) {}

  /** Watches a participant that joined (not when `idleMs` is 0, nor one whose transport never listens). */
  watch(membership: Membership): void {
    if (this.idleMs === 0 || !membership.session.outlet.receives) return;
    this.watched.set(membership, { frames: membership.session.framesIn, activeAt: this.clock.now() });
    this.timer ??= this.clock.after(this.idleMs / 4, this.check);
  }

  /** Stops watching a participant that left. */
  unwatch(membership: Membership): void {
    if (!this.watched.delete(membership) || this.watched.size > 0) return;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    for (const [membership, watched] of [...this.watched]) {
      const frames = membership.session.framesIn;
      if (frames !== watched.frames) {
        watched.frames = frames;
        watched.activeAt = now;
      } else if (now - watched.activeAt >= this.idleMs) {
        this.watched.delete(membership);
        this.onIdle(membership);
      }
    }
    if (this.watched.size > 0) this.timer = this.clock.after(this.idleMs / 4, this.check);
  };
}
