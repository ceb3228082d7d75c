import type { BusMessage } from '../../coordination/coordination.js';
import { RemoteSession, type SessionSnapshot } from '../../coordination/remote-session.js';
import { CallstreamError } from '../../errors.js';
import type { CallControl, Session } from '../../session/session.js';
import type { CallStatusEvent, StopInfo, StreamStatusEvent } from '../../session/types.js';
import { twilioCallControl } from '../../twilio/call-control.js';
import { startTwilioRecording } from '../../twilio/call-recording.js';
import { isFinalCallStatus, type StatusCallback } from '../../twilio/call-status.js';
import { type OutboundCall, type OutboundCallOptions, placeCall } from '../../twilio/outbound-call.js';
import type { TransportRuntime } from '../runtime.js';
import { callMemoryMs } from './ended-calls.js';

/** The key under which the instance with a call's live session answers for it. */
export const callKey = (callSid: string) => `call:${callSid}`;
/** The key under which the instance that placed an outbound call answers for it. */
const outboundKey = (callSid: string) => `outbound:${callSid}`;
/** Status callbacks may beat the REST answer that names an outbound call: kept this long for it. */
const KEEP_FOR_OUTBOUND_MS = 60_000;

/**
 * The phone calls of the deployment by CallSid, as this instance takes part in them: the live
 * sessions it holds, the outbound calls it placed, and what Twilio's REST API can do to them. Status
 * callbacks land on any instance and are sent on to the instances concerned: the call's session's
 * and the outbound call's (kept for it when it is not known yet).
 */
export class PhoneCalls {
  private readonly sessions = new Map<string, Session>();
  private readonly outbound = new Map<string, OutboundCall>();
  private readonly remote = new Map<string, RemoteSession>();

  constructor(private readonly runtime: TransportRuntime) {
    runtime.directory.handlePrefix('call:', (key, message) => this.onCallMessage(key.slice('call:'.length), message));
    runtime.directory.handlePrefix('outbound:', (key, message) => this.onOutboundMessage(key.slice('outbound:'.length), message));
  }

  /** REST control of a call (hang up, transfer), when the Stream has a Twilio client. */
  control(callSid: string | undefined): CallControl | undefined {
    const client = this.runtime.options.twilioClient;
    return client && callSid ? twilioCallControl(client, callSid) : undefined;
  }

  /** A phone session opened: status callbacks now reach it, its outbound call learns of it, Twilio may record it. */
  attach(session: Session): void {
    const callSid = session.facts.callSid;
    if (!callSid) return;
    this.sessions.set(callSid, session);
    // Only calls placed with the REST API (`outbound-api`) have an outbound handle to tell.
    const placed = session.facts.direction === 'outbound-api';
    if (placed) {
      const snapshot: SessionSnapshot = { id: session.id, transport: session.transport, facts: { ...session.facts }, instanceId: this.runtime.coordination.instanceId };
      this.tellOutbound(callSid, { type: 'connected', session: snapshot }, true);
    }
    session.onEnd((info) => {
      if (this.sessions.get(callSid) === session) this.sessions.delete(callSid);
      if (placed) this.tellOutbound(callSid, { type: 'session-ended', info }, false);
      this.remember(callSid);
    });
    this.record(session, callSid);
  }

  /** A status callback (call status or media stream event) arrived, signature already checked. */
  async report(callback: StatusCallback): Promise<void> {
    const log = this.runtime.logger.child({ transport: 'telephone', callSid: callback.callSid });
    if (callback.kind === 'unknown') {
      log.warn({ reason: callback.reason }, 'status callback ignored');
      return;
    }
    const { coordination } = this.runtime;
    if (callback.kind === 'stream') {
      const delivery = await coordination.ask(callKey(callback.callSid), { type: 'streamStatus', event: callback.event });
      if (delivery.kind === 'absent') {
        log.info({ streamEvent: callback.event.event, streamSid: callback.event.streamSid, streamError: callback.event.error }, 'media stream status (no live session)');
      }
      return;
    }
    const { event, callSid } = callback;
    // A call over on Twilio's side: its webhook is refused from now on (a replay), counted from its end.
    if (isFinalCallStatus(event.status)) await coordination.rememberCall(callSid, callMemoryMs(this.runtime.options));
    const [toOutbound, toSession] = await Promise.all([
      coordination.ask(outboundKey(callSid), { type: 'callStatus', event }, { keep: true, keepMs: KEEP_FOR_OUTBOUND_MS }),
      coordination.ask(callKey(callSid), { type: 'callStatus', event }),
    ]);
    if (toOutbound.kind !== 'replied' && toSession.kind !== 'replied') {
      log.info({ callStatus: event.status, answeredBy: event.answeredBy, durationS: event.durationS }, 'call status (no live session)');
    }
  }

  /**
   * Places an outbound call whose answer reaches the handler: Twilio fetches the signed webhook
   * `{publicUrl}{mountPath}/telephone/incoming`, and reports to `{publicUrl}{mountPath}/telephone/status`.
   */
  async place(options: OutboundCallOptions, mountPath: string | undefined): Promise<OutboundCall> {
    const { options: resolved, coordination } = this.runtime;
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
        hint: 'set the publicUrl option or PUBLIC_URL (https://...), or serve through fastphone() from callstream/tunnels first (its tunnel sets it).',
      });
    }
    if (!this.runtime.accepting) throw new CallstreamError('SESSION_CLOSED', 'The Stream is shutting down: no new calls.');
    if ((await coordination.counts()).total >= resolved.concurrencyLimit) {
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
    await this.track(call);
    return call;
  }

  /** Hangs up the outbound calls still going (the Stream is shutting down) and forgets them. */
  async close(): Promise<void> {
    const pending = [...this.outbound.values()];
    await Promise.all(pending.map((call) => call.abandon('was given up: the Stream shut down')));
    this.outbound.clear();
  }

  /** Follows an outbound call from here: what was said about it before it was known comes first. */
  private async track(call: OutboundCall): Promise<void> {
    const key = outboundKey(call.sid);
    this.outbound.set(call.sid, call);
    call.once('end', () => {
      this.outbound.delete(call.sid);
      this.runtime.directory.unclaim(key);
      const remote = this.remote.get(call.sid);
      this.remote.delete(call.sid);
      remote?.stopped({ reason: 'remote_stop', message: `The call is over (${call.status}).`, durationMs: 0 });
    });
    let kept: unknown[] | undefined;
    try {
      kept = await this.runtime.directory.claim(key);
    } catch (error) {
      this.runtime.logger.warn({ err: error, callSid: call.sid }, 'outbound call: its status callbacks cannot be followed (coordination unavailable)');
    }
    for (const message of kept ?? []) this.onOutboundMessage(call.sid, message as BusMessage);
  }

  private onCallMessage(callSid: string, message: BusMessage): null {
    const session = this.sessions.get(callSid);
    if (!session) throw new CallstreamError('NOT_FOUND', `No live session for call ${callSid}.`);
    if (message.type === 'streamStatus') {
      const event = message.event as StreamStatusEvent;
      const fields = { streamEvent: event.event, streamSid: event.streamSid, streamError: event.error };
      if (event.event === 'stream-error') session.log.warn(fields, 'media stream error reported by Twilio');
      else session.log.info(fields, 'media stream status');
      session.tell('streamStatus', event);
    } else if (message.type === 'callStatus') {
      const event = message.event as CallStatusEvent;
      session.facts.callStatus = event.status;
      if (event.answeredBy) session.facts.answeredBy = event.answeredBy;
      session.log.info({ callStatus: event.status, answeredBy: event.answeredBy, durationS: event.durationS }, 'call status');
      session.tell('callStatus', event);
      if (isFinalCallStatus(event.status)) session.end('remote_stop', `The call ended on Twilio's side (${event.status}).`);
    }
    return null;
  }

  private onOutboundMessage(callSid: string, message: BusMessage): null {
    const call = this.outbound.get(callSid);
    if (!call) throw new CallstreamError('NOT_FOUND', `No outbound call ${callSid} here.`);
    if (message.type === 'callStatus') {
      call.update(message.event as CallStatusEvent);
    } else if (message.type === 'connected') {
      const snapshot = message.session as SessionSnapshot;
      const local = this.runtime.getSession(snapshot.id);
      if (local) {
        call.attach(local);
      } else {
        const remote = new RemoteSession(snapshot, this.runtime.directory, this.runtime.logger);
        this.remote.set(callSid, remote);
        call.attach(remote);
      }
    } else if (message.type === 'session-ended') {
      this.remote.get(callSid)?.stopped(message.info as StopInfo);
    }
    return null;
  }

  /** Tells the instance that placed the call (if one did), kept for it when `keep` and it does not know the call yet. */
  private tellOutbound(callSid: string, message: BusMessage, keep: boolean): void {
    if (this.outbound.has(callSid)) {
      this.onOutboundMessage(callSid, message);
      return;
    }
    this.runtime.coordination
      .ask(outboundKey(callSid), message, keep ? { keep: true, keepMs: KEEP_FOR_OUTBOUND_MS } : {})
      .catch((error: unknown) => this.runtime.logger.debug({ err: error, callSid }, 'outbound call not told'));
  }

  /** Remembers a call whose session ended, deployment-wide, counted from now (see ended-calls.ts). */
  private remember(callSid: string): void {
    this.runtime.coordination
      .rememberCall(callSid, callMemoryMs(this.runtime.options))
      .catch((error: unknown) => this.runtime.logger.debug({ err: error, callSid }, 'ended call not remembered from its end (coordination unavailable): remembered from its webhook'));
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
