import type { ClientFaults } from '../client-faults.js';
import type { Clock } from '../clock.js';
import type { Admission, AdmissionRequest } from '../coordination/admission.js';
import type { Coordination, Place } from '../coordination/coordination.js';
import type { SessionDirectory } from '../coordination/session-directory.js';
import type { Logger } from '../logger.js';
import type { StreamMetrics } from '../metrics/stream-metrics.js';
import type { ResolvedOptions } from '../options.js';
import type { AudioHandler } from '../session/handler.js';
import type { CallControl, Session, TransportLink } from '../session/session.js';
import type { CallFacts } from '../session/types.js';
import type { VideoCodec } from '../video/codec.js';

/** What a transport may use of its Stream: options, admission, and a way to open sessions. */
export interface TransportRuntime {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: StreamMetrics;
  /** Where clients' misbehaviour is logged: rate-limited warnings, never errors or stacks. */
  readonly clientFaults: ClientFaults;
  /** The Stream's handler (its declared formats matter to some transports). */
  readonly handler: AudioHandler;
  /** The VP8 codec, for video and audio-video streams. */
  readonly videoCodec: VideoCodec | undefined;
  /** What the instances share (announced calls, claims, the bus). */
  readonly coordination: Coordination;
  /** The deployment's sessions as this instance reaches them. */
  readonly directory: SessionDirectory;
  /** A live session of this instance, by id. */
  getSession(id: string): Session | undefined;
  /** False once the Stream is shutting down: new calls are refused. */
  readonly accepting: boolean;
  /** Claims a session's id (and keys) and takes its place under the limit, or says why not. */
  admit(request: AdmissionRequest): Promise<Admission>;
  /** Opens a session (not started) holding what `admit` gave it. */
  openSession(init: SessionOpening): Session;
  /** REST control (hang up, transfer) of a phone call, when the Stream has Twilio credentials. */
  callControl(callSid: string | undefined): CallControl | undefined;
}

export interface SessionOpening {
  /** Claimed with `admit`. */
  id: string;
  link: TransportLink;
  facts: CallFacts;
  place: Place;
  /** Further keys claimed with the id (given back when the session ends). */
  keys?: string[];
  /** Audio kept queued at the far end (ms); the transport knows what suits it. */
  leadMs: number;
  markEveryMs?: number;
}
