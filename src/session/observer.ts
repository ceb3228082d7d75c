/**
 * What a session reports as it runs, for metrics. Bound to one transport; every method is cheap
 * (it runs per frame).
 */
export interface SessionObserver {
  /** An inbound frame reached the session. */
  frameIn(): void;
  /** The handler took this long with one inbound frame (ms). */
  handled(ms: number): void;
  /** Outbound audio went out (in 20 ms frames). */
  framesOut(count: number): void;
  /** Frames dropped: inbound (slow handler) or outbound (queue full, in 20 ms units). */
  dropped(direction: 'inbound' | 'outbound', count: number): void;
  /** How late the pacing clock sent a frame (ms). */
  lateness(ms: number): void;
}
