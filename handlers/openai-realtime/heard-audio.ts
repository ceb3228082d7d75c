/** What the caller heard of one assistant item when the model's audio was cut. */
export interface HeardItem {
  itemId: string;
  /** Audio of the item the caller heard (ms): what `conversation.item.truncate` says as `audio_end_ms`. */
  heardMs: number;
  /** Audio of the item the bridge had queued for the caller (ms). */
  sentMs: number;
}

interface ItemAudio {
  itemId: string;
  /** Where the item's audio starts on the line of everything queued (ms). */
  startMs: number;
  ms: number;
}

/** Items kept once they are known to be played in full (a cut only ever concerns the latest ones). */
const KEEP_PLAYED = 4;

/**
 * The model's audio as the caller gets it: one line of everything queued for playback, in order,
 * with the item each stretch belongs to. A cut turns what the session's `interrupt()` reports
 * (`unplayedMs`: audio of the current utterance flushed or dropped unheard) into a position on that
 * line, and so into how much of each item was heard. The line then continues from that position, as
 * playback does.
 */
export class HeardAudio {
  private items: ItemAudio[] = [];
  private endMs = 0;
  /** Everything before this position is known to be played (the session reported idle playback). */
  private playedMs = 0;

  /** Audio of the model's `itemId` was queued for the caller. */
  add(itemId: string, ms: number): void {
    if (ms <= 0) return;
    const last = this.items[this.items.length - 1];
    if (last?.itemId === itemId) last.ms += ms;
    else this.items.push({ itemId, startMs: this.endMs, ms });
    this.endMs += ms;
    while (this.items.length > KEEP_PLAYED && this.items[0]!.startMs + this.items[0]!.ms <= this.playedMs) this.items.shift();
  }

  /** The session reported everything queued as played. */
  allPlayed(): void {
    this.playedMs = this.endMs;
  }

  /** Audio queued since it was last known played in full (ms). */
  get unconfirmedMs(): number {
    return this.endMs - this.playedMs;
  }

  /**
   * Playback was interrupted with `unplayedMs` of audio not heard. Returns, for every item whose audio
   * was not heard in full, or that `stillComing` says the model is still producing, what was heard
   * of it. Forgets the unheard audio.
   */
  cut(unplayedMs: number, stillComing: (itemId: string) => boolean = () => false): HeardItem[] {
    // Never before what is known played: the session cannot flush audio it reported as played.
    const heardAt = Math.max(this.playedMs, this.endMs - Math.max(0, unplayedMs));
    const cuts: HeardItem[] = [];
    const kept: ItemAudio[] = [];
    for (const item of this.items) {
      const heardMs = Math.min(item.ms, Math.max(0, heardAt - item.startMs));
      if (heardMs < item.ms || stillComing(item.itemId)) cuts.push({ itemId: item.itemId, heardMs, sentMs: item.ms });
      if (heardMs > 0) kept.push({ ...item, ms: heardMs });
    }
    this.items = kept;
    this.endMs = heardAt;
    this.playedMs = heardAt;
    return cuts;
  }
}
