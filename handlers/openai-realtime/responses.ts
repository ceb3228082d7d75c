/**
 * The model's responses as the bridge follows them: the one in flight and its assistant items, a
 * `response.create` sent and not yet answered, one more wanted once the current one is done (the API
 * takes one response at a time), and what the caller cut (whose late audio is dropped).
 */
export class Responses {
  /** The response in flight (between response.created and response.done). */
  current: string | undefined;
  private readonly items = new Set<string>();
  private readonly cut = new Set<string>();
  private requested = false;
  private wanted = false;

  created(id: string | undefined): void {
    this.current = id;
    this.requested = false;
  }

  /** An assistant message item of the response in flight. */
  itemAdded(itemId: string): void {
    this.items.add(itemId);
  }

  /** True while the model is still producing `itemId`. */
  producing(itemId: string): boolean {
    return this.items.has(itemId);
  }

  /** Audio of `id` (an item or a response) is not to be played any more. */
  drop(id: string): void {
    this.cut.add(id);
  }

  dropped(itemId: string, responseId: string | undefined): boolean {
    return this.cut.has(itemId) || (responseId !== undefined && this.cut.has(responseId));
  }

  /** A response is wanted: true when `response.create` should be sent now, false when it waits its turn. */
  ask(): boolean {
    if (this.current || this.requested) {
      this.wanted = true;
      return false;
    }
    this.requested = true;
    return true;
  }

  /** The API refused a `response.create` because one was in flight: ask again after it. */
  refused(): void {
    this.requested = false;
    this.wanted = true;
  }

  /** `response.done`: true when a response waits its turn and should be asked for now. */
  done(id: string | undefined): boolean {
    if (id === undefined || id === this.current) {
      this.current = undefined;
      this.items.clear();
      this.cut.clear();
    }
    this.requested = false;
    const wanted = this.wanted;
    this.wanted = false;
    return wanted;
  }
}
