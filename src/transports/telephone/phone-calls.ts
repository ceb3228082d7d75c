import { CallstreamError } from '../../errors.js';
import type { CallControl, Session } from '../../session/session.js';
import type { CallStatusEvent } from '../../session/types.js';
import { twilioCallControl } from '../../twilio/call-control.js';
import { startTwilioRecording } from '../../twilio/call-recording.js';
import { isFinalCallStatus, type StatusCallback } from '../../twilio/call-status.js';
import { type OutboundCall, type OutboundCallOptions, placeCall } from '../../twilio/outbound-call.js';
import type { TransportRuntime } from '../runtime.js';

/** Status callbacks kept for calls not (yet) known: one may beat the REST answer that names its call. */
const EARLY_CALLS_KEPT = 100;

/**
 * The Stream's phone calls by CallSid: the live session of each, the outbound calls it placed, and
 * what Twilio's REST API can do to them. Status callbacks are dispatched from here to both.
 */
export class PhoneCalls {
  private readonly sessions = new Map<string, Session>();
  private readonly outbound = new Map<string, OutboundCall>();
  private readonly early = new Map<string, CallStatusEvent[]>();

  constructor(private readonly runtime: TransportRuntime) {}

  /** REST control of a call (hang up, transfer), when the Stream has a Twilio client. */
  control(callSid: string | undefined): CallControl | undefined {
    const client = this.runtime.options.twilioClient;
    return client && callSid ? twilioCallControl(client, callSid) : undefined;
  }

  /** True while a phone session for `callSid` is live. */
  hasLive(callSid: string): boolean {
    return this.sessions.has(callSid);
  }

  /** A phone session opened: its status callbacks now reach it, its outbound handle learns of it, Twilio may record it. */
  attach(session: Session): void {
    const callSid = session.facts.callSid;
    if (!callSid) return;
    this.sessions.set(callSid, session);
    session.once('stop', () => {
      if (this.sessions.get(callSid) === session) this.sessions.delete(callSid);
    });
    this.outbound.get(callSid)?.attach(session);
    this.record(session, callSid);
  }

  /** A status callback (call status or media stream event) arrived, signature already checked. */
  report(callback: StatusCallback): void {
    const log = this.runtime.logger.child({ transport: 'telephone', callSid: callback.callSid });
    if (callback.kind === 'unknown') {
      log.warn({ reason: callback.reason }, 'status callback ignored');
      return;
    }
    const session = this.sessions.get(callback.callSid);
    if (callback.kind === 'stream') {
      if (session) session.reportStreamStatus(callback.event);
      else log.info({ streamEvent: callback.event.event, streamSid: callback.event.streamSid, streamError: callback.event.error }, 'media stream status (no live session)');
      return;
    }
    const { event, callSid } = callback;
    const handle = this.outbound.get(callSid);
    handle?.update(event);
    if (session) {
      session.reportCallStatus(event);
      if (isFinalCallStatus(event.status)) session.end('remote_stop', `The call ended on Twilio's side (${event.status}).`);
    } else if (!handle) {
      log.info({ callStatus: event.status, answeredBy: event.answeredBy, durationS: event.durationS }, 'call status (no live session)');
      this.keepEarly(callSid, event);
    }
  }

  /**
   * Places an outbound call whose answer reaches the handler: Twilio fetches the signed webhook
   * `{publicUrl}{mountPath}/telephone/incoming`, and reports to `{publicUrl}{mountPath}/telephone/status`.
   */
  async place(options: OutboundCallOptions, mountPath: string | undefined): Promise<OutboundCall> {
    const { options: resolved, registry } = this.runtime;
    const client = resolved.twilioClient;
    if (!client) {
      throw new CallstreamError('CONFIG_ERROR', 'stream.call() needs Twilio REST credentials.', {
        hint: 'give the Stream the twilio option ({ accountSid, authToken }) or set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.',
      });
    }
    if (mountPath === undefined) {
      throw new CallstreamError('CONFIG_ERROR', 'stream.call() before stream.mount(): the answered call would find no webhook.', {
        hint: 'mount the Stream on a Koa app that listens, then call.',
      });
    }
    const publicUrl = resolved.publicUrl;
    if (!publicUrl) {
      throw new CallstreamError('CONFIG_ERROR', 'stream.call() needs the public URL Twilio reaches this server at.', {
        hint: 'set the publicUrl option or PUBLIC_URL (https://...), or run stream.fastphone() first (its tunnel sets it).',
      });
    }
    if (!this.runtime.accepting) throw new CallstreamError('SESSION_CLOSED', 'The Stream is shutting down: no new calls.');
    if (registry.size >= resolved.concurrencyLimit) {
      throw new CallstreamError('CONCURRENCY_LIMIT', `The concurrency limit (${resolved.concurrencyLimit}) is reached: the answered call would be refused.`, {
        hint: 'wait for a session to end, or raise concurrencyLimit.',
      });
    }
    const base = publicUrl + mountPath;
    const call = await placeCall(
      {
        client,
        clock: this.runtime.clock,
        logger: this.runtime.logger.child({ transport: 'telephone' }),
        webhookUrl: `${base}/telephone/incoming`,
        statusUrl: `${base}/telephone/status`,
        connectTimeoutMs: resolved.telephone.connectTimeoutMs,
      },
      options,
    );
    this.track(call);
    return call;
  }

  /** Hangs up the outbound calls still going (the Stream is shutting down) and forgets them. */
  async close(): Promise<void> {
    const pending = [...this.outbound.values()];
    await Promise.all(pending.map((call) => call.abandon('was given up: the Stream shut down')));
    this.outbound.clear();
    this.early.clear();
  }

  private track(call: OutboundCall): void {
    this.outbound.set(call.sid, call);
    call.once('end', () => this.outbound.delete(call.sid));
    const early = this.early.get(call.sid);
    this.early.delete(call.sid);
    for (const event of early ?? []) call.update(event);
    const session = this.sessions.get(call.sid);
    if (session) call.attach(session);
  }

  private keepEarly(callSid: string, event: CallStatusEvent): void {
    const events = this.early.get(callSid) ?? [];
    events.push(event);
    this.early.delete(callSid);
    this.early.set(callSid, events);
    if (this.early.size > EARLY_CALLS_KEPT) this.early.delete(this.early.keys().next().value!);
  }

  private record(session: Session, callSid: string): void {
    const client = this.runtime.options.twilioClient;
    const recording = this.runtime.options.telephone.twilioRecording;
    if (!client || !recording) return;
    startTwilioRecording(client, callSid, recording).then(
      (sid) => {
        session.facts.recordingSid = sid;
        session.log.info({ recordingSid: sid }, 'Twilio-side recording started');
      },
      (error: unknown) => session.log.warn({ err: error }, 'could not start the Twilio-side recording'),
    );
  }
}
