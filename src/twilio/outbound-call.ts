import { EventEmitter } from 'node:events';
import type { CallListInstanceCreateOptions } from 'twilio/lib/rest/api/v2010/account/call.js';
import type { Clock, TimerHandle } from '../clock.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SessionHandle } from '../session/handle.js';
import type { CallStatus, CallStatusEvent } from '../session/types.js';
import { twilioFailure } from './api-error.js';
import { endCall } from './call-control.js';
import { CallFailedError, type CallFailureReason } from './call-failed.js';
import { isCallStatus, isFinalCallStatus } from './call-status.js';
import type { TwilioClient } from './client.js';

/** The status callback events Twilio can send for a call. */
export type CallProgressEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/**
 * What `stream.call()` takes: who to call and from which number, plus any option of Twilio's
 * `calls.create` except those callstream sets itself (`url`, `twiml`, `statusCallback`...).
 */
export type OutboundCallOptions = Omit<
  CallListInstanceCreateOptions,
  'url' | 'method' | 'twiml' | 'applicationSid' | 'statusCallback' | 'statusCallbackMethod' | 'statusCallbackEvent' | 'fallbackUrl' | 'fallbackMethod'
> & {
  /** The number to call (E.164), or a `sip:` / `client:` address. */
  to: string;
  /** Your Twilio number (or a verified caller ID) the call comes from. */
  from: string;
  /** Seconds to let it ring before Twilio gives up with `no-answer` (Twilio: default 60, at most 600). */
  timeout?: number;
  /** Answering machine detection: `Enable` or `DetectMessageEnd`. Its verdict reaches the handler as `facts.answeredBy`. */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** Status callbacks wanted (`completed` is always added). Default: initiated, ringing, answered, completed. */
  statusCallbackEvent?: CallProgressEvent[];
  /**
   * How long to wait for the call to be answered and its media stream to connect before giving up:
   * the call is then hung up and the handle rejects with a `timeout` CALL_FAILED (ms). Default: the
   * ring timeout, plus machine detection's, plus the telephone connect timeout.
   */
  answerTimeoutMs?: number;
};

/** How an outbound call ended. */
export interface CallEnd {
  /** The final status (or the last known one after a timeout). */
  status: CallStatus;
  answeredBy?: string;
  /** Seconds, when Twilio said. */
  durationS?: number;
  /** Set when the call never reached the handler (busy, no-answer, failed, canceled, ended first, timeout). */
  error?: CallFailedError;
}

export interface OutboundCallEvents {
  /** A status change (Twilio's status callbacks, or the REST answer to `hangUp()`). */
  status: [event: CallStatusEvent];
  /** The call is over (once). */
  end: [end: CallEnd];
}

/** What the call needs from its Stream. */
export interface OutboundCallInit {
  sid: string;
  to: string;
  from: string;
  status: CallStatus;
  client: TwilioClient;
  clock: Clock;
  logger: Logger;
  answerTimeoutMs: number;
}

/**
 * A call placed with `stream.call()`. Its status changes arrive as `status` events; `answered`
 * resolves once it is picked up, `session` once its media stream reaches the handler. Both reject
 * with a CallFailedError (code CALL_FAILED) when it is busy, not answered, failed or canceled, ends
 * first, or nothing is heard in time. `ended` resolves (never rejects) when it is over.
 */
export class OutboundCall extends EventEmitter<OutboundCallEvents> {
  /** `CA...` */
  readonly sid: string;
  readonly to: string;
  readonly from: string;
  /** Resolves when the call is answered (status `in-progress`, or its media stream connected). */
  readonly answered: Promise<void>;
  /**
   * Resolves once its media stream reaches the handler: the `Session` itself when the media landed
   * on this instance, a `RemoteSession` (hang up, end, `ended`) when it landed on another.
   */
  readonly session: Promise<SessionHandle>;
  /** Resolves when the call is over (or was given up). */
  readonly ended: Promise<CallEnd>;
  private current: CallStatus;
  private verdict: string | undefined;
  private lastSequence = -1;
  private over = false;
  private connected = false;
  private failure: CallFailedError | undefined;
  private readonly answer = deferred<void>();
  private readonly media = deferred<SessionHandle>();
  private readonly end = deferred<CallEnd>();
  private readonly deadline: TimerHandle;
  private readonly log: Logger;

  constructor(private readonly init: OutboundCallInit) {
    super();
    this.sid = init.sid;
    this.to = init.to;
    this.from = init.from;
    this.current = init.status;
    this.answered = this.answer.promise;
    this.session = this.media.promise;
    this.ended = this.end.promise;
    this.log = init.logger.child({ callSid: init.sid, direction: 'outbound-api' });
    this.deadline = init.clock.after(init.answerTimeoutMs, () => void this.giveUp());
  }

  /** The latest status. */
  get status(): CallStatus {
    return this.current;
  }

  /** Machine detection's verdict, once known. */
  get answeredBy(): string | undefined {
    return this.verdict;
  }

  /** True once the call is over. */
  get isOver(): boolean {
    return this.over;
  }

  /** Hangs the call up over REST (`status=completed`; a ringing call is canceled). Resolves once Twilio has done it. */
  async hangUp(): Promise<void> {
    if (this.over) return;
    const status = await endCall(this.init.client, this.sid);
    this.update({ status: status ?? 'completed', params: {} });
  }

  /** @internal A status change: from a status callback, or from a REST answer (no sequence). */
  update(event: CallStatusEvent): void {
    if (this.over) return;
    if (event.sequence !== undefined) {
      if (event.sequence <= this.lastSequence) {
        this.log.debug({ callStatus: event.status, sequence: event.sequence }, 'late status callback ignored');
        return;
      }
      this.lastSequence = event.sequence;
    }
    this.current = event.status;
    if (event.answeredBy) this.verdict = event.answeredBy;
    this.log.info({ callStatus: event.status, answeredBy: event.answeredBy, durationS: event.durationS }, 'outbound call status');
    this.emit('status', event);
    if (event.status === 'in-progress') this.answer.resolve();
    if (isFinalCallStatus(event.status)) {
      const error = this.connected ? undefined : new CallFailedError(this, event.status as CallFailureReason);
      this.finish({ status: event.status, answeredBy: this.verdict, durationS: event.durationS }, error);
    }
  }

  /** @internal Its media stream reached the handler. */
  attach(session: SessionHandle): void {
    if (this.over || this.connected || this.failure) return;
    this.connected = true;
    this.deadline.cancel();
    if (session.facts.answeredBy) this.verdict ??= session.facts.answeredBy;
    this.answer.resolve();
    this.media.resolve(session);
    this.log.info({ sessionId: session.id, answeredBy: this.verdict }, 'outbound call connected');
  }

  /** @internal Ends the handle without news from Twilio (the Stream shut down): hangs up, then gives up. */
  async abandon(detail: string): Promise<void> {
    if (this.over) return;
    await this.hangUp().catch((error: unknown) => this.log.warn({ err: error }, 'could not hang up an outbound call while shutting down'));
    if (!this.over) this.finish({ status: this.current, answeredBy: this.verdict }, this.connected ? undefined : new CallFailedError(this, 'canceled', detail));
  }

  private async giveUp(): Promise<void> {
    if (this.over || this.connected) return;
    const error = new CallFailedError(this, 'timeout', `got no answer nor status within ${describeMs(this.init.answerTimeoutMs)}, and was hung up`);
    this.log.warn({ callStatus: this.current, answerTimeoutMs: this.init.answerTimeoutMs }, 'outbound call: nothing heard in time; hanging up');
    this.failure = error;
    this.answer.reject(error);
    this.media.reject(error);
    try {
      const status = await endCall(this.init.client, this.sid);
      if (status && !this.over) this.current = status;
    } catch (failure) {
      this.log.warn({ err: failure }, 'could not hang up the timed-out call');
    }
    this.finish({ status: this.current, answeredBy: this.verdict }, error);
  }

  private finish(end: CallEnd, error: CallFailedError | undefined): void {
    if (this.over) return;
    this.over = true;
    this.deadline.cancel();
    error = this.failure ?? error;
    if (error) {
      end.error = error;
      this.answer.reject(error);
      this.media.reject(error);
      this.log.info({ callStatus: end.status, reason: error.reason }, 'outbound call did not connect');
    }
    this.emit('end', end);
    this.end.resolve(end);
  }
}

/** What placing a call needs from the Stream. */
export interface PlaceCallContext {
  client: TwilioClient;
  clock: Clock;
  logger: Logger;
  /** The signed voice webhook the answered call fetches its TwiML from (`{publicUrl}{path}/telephone/incoming`). */
  webhookUrl: string;
  /** Where Twilio posts the call's status changes (`{publicUrl}{path}/telephone/status`). */
  statusUrl: string;
  /** How long a media stream may take to follow the webhook (ms). */
  connectTimeoutMs: number;
}

/**
 * Creates the call over REST: when answered, Twilio fetches the voice webhook, whose TwiML connects
 * a media stream to the same handler (with a one-time token, as for incoming calls).
 */
export async function placeCall(context: PlaceCallContext, options: OutboundCallOptions): Promise<OutboundCall> {
  const { answerTimeoutMs, statusCallbackEvent, ...rest } = options;
  if (typeof options.to !== 'string' || !options.to || typeof options.from !== 'string' || !options.from) {
    throw new CallstreamError('BAD_REQUEST', 'stream.call() needs `to` and `from` (E.164 numbers such as +15551234567).');
  }
  const events = [...new Set<CallProgressEvent>([...(statusCallbackEvent ?? ['initiated', 'ringing', 'answered']), 'completed'])];
  let created: { sid: string; status: string };
  try {
    created = await context.client.calls.create({
      ...rest,
      url: context.webhookUrl,
      method: 'POST',
      statusCallback: context.statusUrl,
      statusCallbackMethod: 'POST',
      statusCallbackEvent: events,
    });
  } catch (error) {
    throw twilioFailure(error, `place a call to ${options.to}`);
  }
  const ringS = options.timeout ?? 60;
  const detectS = options.machineDetection ? (options.machineDetectionTimeout ?? 30) : 0;
  const call = new OutboundCall({
    sid: created.sid,
    to: options.to,
    from: options.from,
    status: isCallStatus(created.status) ? created.status : 'queued',
    client: context.client,
    clock: context.clock,
    logger: context.logger,
    answerTimeoutMs: answerTimeoutMs ?? (ringS + detectS) * 1000 + context.connectTimeoutMs,
  });
  context.logger.child({ callSid: call.sid }).info({ to: options.to, from: options.from, webhookUrl: context.webhookUrl, statusCallbackEvent: events }, 'outbound call placed');
  return call;
}

function describeMs(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

interface Deferred<T> {
  promise: Promise<T>;
  settled: boolean;
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A promise settled from outside, once; a rejection nobody awaits is not reported as unhandled. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  promise.catch(() => {});
  const out: Deferred<T> = {
    promise,
    settled: false,
    resolve(value) {
      if (out.settled) return;
      out.settled = true;
      resolve(value);
    },
    reject(error) {
      if (out.settled) return;
      out.settled = true;
      reject(error);
    },
  };
  return out;
}
