import type { Socket } from 'node:net';
import WebSocket from 'ws';
import type { ClientFaults } from '../client-faults.js';
import type { Logger } from '../logger.js';
import { closeReason } from './wire.js';

/**
 * What a peer may leave unsent before it counts as not reading: about two minutes of phone audio as
 * JSON. Past it the peer is dropped, so memory stays bounded whatever the peer does.
 */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

/**
 * What one message waiting to be sent costs beyond its bytes (the write requests and buffer views Node
 * keeps for it), counted against the bound: a flood of tiny messages (pongs) is bounded by what it
 * holds in memory, not only by its few bytes.
 */
export const PENDING_MESSAGE_COST = 512;

/**
 * The one way out to a WebSocket's peer: every message to it (media, marks, pongs, errors) and its
 * close go through here, so one bound holds for all of them. A peer whose unsent messages pass
 * `maxUnsentBytes` (bytes plus PENDING_MESSAGE_COST each) has stopped reading: it is terminated and
 * that is logged once, as a client fault.
 */
export class SocketWriter {
  /** Messages handed to the socket whose write has not completed. */
  private pending = 0;
  private dropped = false;
  private readonly written = (): void => {
    this.pending--;
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly faults: ClientFaults,
    private readonly maxUnsentBytes = MAX_UNSENT_BYTES,
  ) {}

  /** What the peer has not taken yet, as counted against the bound. */
  get unsentBytes(): number {
    return this.ws.bufferedAmount + this.pending * PENDING_MESSAGE_COST;
  }

  /** Sends one text message; false when it was not sent (the socket is not open, or the peer was dropped). */
  send(text: string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.unsentBytes > this.maxUnsentBytes) {
      this.drop();
      return false;
    }
    // A message to a socket with nothing waiting goes straight to the kernel: only messages that
    // queue behind others are counted (and need a completion callback), which is where a peer that
    // does not read piles them up.
    if (this.ws.bufferedAmount === 0 && this.pending === 0) {
      this.ws.send(text);
      return true;
    }
    this.pending++;
    this.ws.send(text, this.written);
    return true;
  }

  /** Sends messages in one write to the socket (corked), not one system call each. */
  sendTogether(texts: readonly string[]): void {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket;
    socket?.cork();
    for (const text of texts) if (!this.send(text)) break;
    socket?.uncork();
  }

  /** Closes the socket with `code` and a reason cut to what a close frame holds, unless it is closing already. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  private drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.faults.warn(this.log, { unsentBytes: this.unsentBytes, limit: this.maxUnsentBytes }, 'peer dropped: it stopped reading what was sent to it');
    this.ws.terminate();
  }
}
