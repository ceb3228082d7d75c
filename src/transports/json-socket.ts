import type WebSocket from 'ws';
import type { TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Session } from '../session/session.js';
import type { TransportKind } from '../session/types.js';
import type { TransportRuntime } from './runtime.js';
import { SocketWriter } from './socket-writer.js';
import { CloseCode, parseJsonObject } from './wire.js';

export interface JsonSocketOptions {
  transport: TransportKind;
  remoteAddress: string | undefined;
  /** A socket that sends no `start` within this time is closed (ms). */
  startTimeoutMs: number;
  /** What that deadline waits for, as its refusal says it (default `start message`). */
  awaiting?: string;
  /** Names the protocol in refusals ("the Media Streams protocol"). */
  protocol: string;
  /** Tell the peer why (`{type: "error", message}`) before closing; Twilio's side has no place for it. */
  tellPeer: boolean;
}

/** Messages held while a `start` is admitted (5 s of 20 ms frames); more is a protocol abuse. */
const MAX_HELD_MESSAGES = 250;

/**
 * A session protocol of JSON text objects over a WebSocket (Twilio's Media Streams, FastRTC's
 * WebSocket): a `start` is due within a deadline, anything that breaks the protocol closes this one
 * socket with a code that says why, and the session ends however the socket goes.
 */
export abstract class JsonSocketConnection {
  protected session: Session | undefined;
  protected readonly log: Logger;
  /** Everything sent to the peer goes through here (the session's link included): one bound for all of it. */
  protected readonly writer: SocketWriter;
  private readonly startTimer: TimerHandle;
  private closed = false;
  /** Messages that came while the session was being admitted (a place taken, an id claimed). */
  private held: Record<string, unknown>[] | undefined;

  constructor(
    ws: WebSocket,
    protected readonly runtime: TransportRuntime,
    private readonly options: JsonSocketOptions,
  ) {
    this.log = runtime.logger.child({ transport: options.transport, remoteAddress: options.remoteAddress });
    this.writer = new SocketWriter(ws, this.log, runtime.clientFaults);
    this.startTimer = runtime.clock.after(options.startTimeoutMs, () =>
      this.refuse(CloseCode.policyViolation, `No ${options.awaiting ?? 'start message'} within ${options.startTimeoutMs} ms.`),
    );
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    // A protocol ping (or the pong to one) is the client keeping its connection: not idle.
    ws.on('ping', () => this.session?.heard());
    ws.on('pong', () => this.session?.heard());
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    // ws reports what the peer broke (a frame over the limit, bad UTF-8, a bad opcode) and closes the socket itself.
    ws.on('error', (error: Error & { code?: string }) => {
      this.runtime.clientFaults.warn(this.log, { error: error.code, reason: error.message, sessionId: this.session?.id }, 'socket closed: protocol error');
      this.session?.end('protocol_error', error.message);
    });
  }

  /**
   * One JSON object from the peer. A handler that returns a promise (a `start` being admitted) holds
   * the messages that follow until it settles, then they are handled in order.
   */
  protected abstract onMessage(message: Record<string, unknown>): void | Promise<void>;

  /**
   * The hot path's chance to handle a message without the JSON parser (Twilio's media messages):
   * true when it did. Anything it does not recognise exactly goes to `onMessage`, which keeps every check.
   */
  protected fastMessage(_text: string): boolean {
    return false;
  }

  /** True once the socket is closed or being closed: what was admitted meanwhile must be given back. */
  protected get isClosed(): boolean {
    return this.closed;
  }

  /** The session has begun: the start deadline no longer applies. */
  protected began(session: Session): void {
    this.startTimer.cancel();
    this.session = session;
  }

  /** What the start deadline waited for came, though the session opens later. */
  protected stopStartDeadline(): void {
    this.startTimer.cancel();
  }

  /** Sends a JSON message if the socket is open (through the bounded writer). */
  protected sendJson(message: unknown): void {
    this.writer.send(JSON.stringify(message));
  }

  /** Closes the socket because the peer broke the protocol (logged once, told to the peer where it can hear). */
  protected refuse(code: number, reason: string): void {
    if (this.closed) return;
    this.runtime.clientFaults.warn(this.log, { code, reason, sessionId: this.session?.id }, 'socket closed: protocol error');
    this.closeWith(code, reason, this.options.tellPeer ? { type: 'error', message: reason } : undefined);
    this.session?.end('protocol_error', reason);
  }

  /** Closes the socket with `code`, after one last message when given. */
  protected closeWith(code: number, reason: string, lastMessage?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.startTimer.cancel();
    if (lastMessage !== undefined) this.sendJson(lastMessage);
    this.writer.close(code, reason);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.session?.heard();
    if (isBinary) return this.refuse(CloseCode.unsupportedData, `Binary frames are not part of ${this.options.protocol}: send JSON text.`);
    const text = data.toString('utf8');
    if (!this.held && this.fastMessage(text)) return;
    const message = parseJsonObject(text);
    if (!message) return this.refuse(CloseCode.invalidPayload, 'A message is not a JSON object.');
    if (this.held) {
      if (this.held.length >= MAX_HELD_MESSAGES) return this.refuse(CloseCode.policyViolation, 'Too many messages before the stream started.');
      this.held.push(message);
      return;
    }
    this.handle(message);
  }

  private handle(message: Record<string, unknown>): void {
    const pending = this.onMessage(message);
    if (!pending) return;
    this.held = [];
    pending
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'starting the session failed');
        this.refuse(CloseCode.internalError, 'The session could not be started.');
      })
      .finally(() => {
        const held = this.held ?? [];
        this.held = undefined;
        while (held.length > 0 && !this.closed) {
          const holding = this.held as Record<string, unknown>[] | undefined; // handle() may have set it
          if (holding) {
            holding.push(...held); // another admission began: its turn to hold them
            break;
          }
          this.handle(held.shift()!);
        }
      });
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    this.startTimer.cancel();
    this.session?.end('remote_closed', `The socket closed (${code}${reason ? `: ${reason}` : ''}).`);
  }
}
