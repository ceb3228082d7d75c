import type { ClientFaults } from '../client-faults.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import type { AudioHandler } from '../session/handler.js';
import type { SessionRegistry, Slot } from '../session/registry.js';
import type { CallControl, Session, TransportLink } from '../session/session.js';
import type { CallFacts } from '../session/types.js';
import type { VideoCodec } from '../video/codec.js';

/** What a transport may use of its Stream: options, limits, and a way to open sessions. */
export interface TransportRuntime {
  readonly options: ResolvedOptions;
  readonly registry: SessionRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where clients' misbehaviour is logged: rate-limited warnings, never errors or stacks. */
  readonly clientFaults: ClientFaults;
  /** The Stream's handler (its declared formats matter to some transports). */
  readonly handler: AudioHandler;
  /** The VP8 codec, for video and audio-video streams. */
  readonly videoCodec: VideoCodec | undefined;
  /** A live session by id. */
  getSession(id: string): Session | undefined;
  /** False once the Stream is shutting down: new calls are refused. */
  readonly accepting: boolean;
  /** Opens a session (not started) holding `slot`. */
  openSession(init: SessionOpening): Session;
  /** True while a phone session for `callSid` is live. */
  hasLiveCall(callSid: string): boolean;
  /** REST control (hang up, transfer) of a phone call, when the Stream has Twilio credentials. */
  callControl(callSid: string | undefined): CallControl | undefined;
}

export interface SessionOpening {
  link: TransportLink;
  facts: CallFacts;
  slot: Slot;
  id?: string;
  /** Audio kept queued at the far end (ms); the transport knows what suits it. */
  leadMs: number;
  markEveryMs?: number;
}
