import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { mulawFrame } from '../../audio/frame.js';
import type { Session } from '../../session/session.js';
import type { CallFacts } from '../../session/types.js';
import type { TransportRuntime } from '../runtime.js';
import { JsonSocketConnection } from '../json-socket.js';
import { CloseCode, decodeBase64Strict, isDtmfDigit } from '../wire.js';
import type { AnnouncedCall, Place, TakenCall } from '../../coordination/coordination.js';
import { isCallstreamError } from '../../errors.js';
import { callKey } from './phone-calls.js';
import { twilioMediaPayload } from './media-message.js';
import { TelephoneLink } from './telephone-link.js';
import { CALL_TOKEN_PARAMETER } from './twiml.js';

const BAD_TOKEN = 'Missing, used or unknown call token: streams must follow the webhook.';

/**
 * One Twilio Media Streams WebSocket: `connected`, `start`, `media`, `dtmf`, `mark`, `stop` in;
 * everything else is the session's job. Protocol violations close the socket with a code that says
 * what went wrong; they never reach the handler or other calls.
 */
export class MediaStreamConnection extends JsonSocketConnection {
  private warnedUnknown = false;
  private starting = false;

  constructor(
    ws: WebSocket,
    runtime: TransportRuntime,
    private readonly remoteAddress: string | undefined,
  ) {
    super(ws, runtime, {
      transport: 'telephone',
      remoteAddress,
      startTimeoutMs: runtime.options.telephone.startTimeoutMs,
      protocol: 'the Media Streams protocol',
      tellPeer: false,
    });
  }

  protected onMessage(message: Record<string, unknown>): void | Promise<void> {
    switch (message.event) {
      case 'media':
        return this.onMedia(message);
      case 'mark':
        return this.onMark(message);
      case 'dtmf':
        return this.onDtmf(message);
      case 'start':
        return this.onStart(message);
      case 'stop':
        if (!this.session) return this.refuse(CloseCode.protocolError, 'stop before start.');
        this.session.end('remote_stop', 'Twilio stopped the stream.');
        return;
      case 'connected':
        if (this.session) return this.refuse(CloseCode.protocolError, 'connected after start.');
        return;
      default:
        if (typeof message.event !== 'string') return this.refuse(CloseCode.protocolError, 'A message has no event field.');
        if (!this.warnedUnknown) this.runtime.clientFaults.warn(this.log, { event: message.event.slice(0, 40) }, 'unknown media stream event ignored');
        this.warnedUnknown = true;
    }
  }

  private async onStart(message: Record<string, unknown>): Promise<void> {
    if (this.session || this.starting) return this.refuse(CloseCode.protocolError, 'A second start message.');
    const start = message.start as Record<string, unknown> | undefined;
    const streamSid = str(message.streamSid) ?? str(start?.streamSid);
    if (!start || typeof start !== 'object' || !streamSid) {
      return this.refuse(CloseCode.protocolError, 'The start message lacks start or streamSid.');
    }
    this.starting = true;
    const customParameters = stringRecord(start.customParameters);
    const token = customParameters[CALL_TOKEN_PARAMETER];
    delete customParameters[CALL_TOKEN_PARAMETER];
    const callSid = str(start.callSid);
    const { coordination, options } = this.runtime;

    let announced: AnnouncedCall | undefined;
    let place: Place | undefined;
    if (token !== undefined) {
      let taken: TakenCall;
      try {
        taken = await coordination.takeCall(token, callSid);
      } catch (error) {
        if (!isCallstreamError(error, 'COORDINATION_UNAVAILABLE')) throw error;
        return this.refuse(CloseCode.tryAgainLater, 'The service is unavailable; try again later.');
      }
      // One reason for every refused token: whether it exists for another call is not the client's business.
      if (taken.kind !== 'taken') return this.refuse(CloseCode.policyViolation, BAD_TOKEN);
      ({ announced, place } = taken);
    } else if (options.twilioAuthToken) {
      return this.refuse(CloseCode.policyViolation, BAD_TOKEN);
    }
    const admission = await this.runtime.admit({ transport: 'telephone', id: randomUUID(), keys: callSid ? [callKey(callSid)] : [], place });
    if (!admission.admitted) {
      if (admission.reason === 'taken') return this.refuse(CloseCode.policyViolation, 'This call already has a live media stream.');
      return this.refuse(CloseCode.tryAgainLater, admission.reason === 'busy' ? 'Concurrency limit reached.' : 'Not accepting calls now; try again later.');
    }
    if (this.isClosed) return admission.giveBack();

    const facts = callFacts(announced, { callSid, accountSid: str(start.accountSid), streamSid, customParameters }, this.remoteAddress);
    const session = this.runtime.openSession({
      id: admission.id,
      link: new TelephoneLink(this.writer, streamSid, this.log, this.runtime.callControl(facts.callSid)),
      facts,
      place: admission.place,
      keys: admission.keys,
      leadMs: options.telephone.leadMs,
      markEveryMs: options.telephone.markEveryMs,
    });
    this.began(session);
    session.start();
  }

  protected override fastMessage(text: string): boolean {
    const session = this.session;
    if (!session) return false;
    const media = twilioMediaPayload(text);
    if (!media) return false;
    this.receive(session, media.track, media.payload);
    return true;
  }

  private onMedia(message: Record<string, unknown>): void {
    const session = this.session;
    if (!session) return this.refuse(CloseCode.protocolError, 'media before start.');
    const media = message.media as Record<string, unknown> | undefined;
    const payload = media?.payload;
    if (typeof payload !== 'string') return this.refuse(CloseCode.protocolError, 'A media message lacks media.payload.');
    this.receive(session, media?.track, payload);
  }

  /** The caller's audio (other tracks are not the caller's: ignored). */
  private receive(session: Session, track: unknown, payload: string): void {
    if (track !== undefined && track !== 'inbound') return;
    const bytes = decodeBase64Strict(payload);
    if (!bytes) return this.refuse(CloseCode.invalidPayload, 'media.payload is not valid base64.');
    if (bytes.length > 0) session.receiveAudio(mulawFrame(bytes));
  }

  private onMark(message: Record<string, unknown>): void {
    if (!this.session) return this.refuse(CloseCode.protocolError, 'mark before start.');
    const name = str((message.mark as Record<string, unknown> | undefined)?.name);
    if (name === undefined) return this.refuse(CloseCode.protocolError, 'A mark message lacks mark.name.');
    this.session.acknowledgeMark(name);
  }

  private onDtmf(message: Record<string, unknown>): void {
    if (!this.session) return this.refuse(CloseCode.protocolError, 'dtmf before start.');
    const digit = str((message.dtmf as Record<string, unknown> | undefined)?.digit);
    if (!isDtmfDigit(digit)) return this.refuse(CloseCode.protocolError, 'A dtmf message lacks a valid dtmf.digit.');
    this.session.receiveDtmf(digit);
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function callFacts(
  pending: AnnouncedCall | undefined,
  fromStart: Pick<CallFacts, 'callSid' | 'accountSid' | 'streamSid' | 'customParameters'>,
  remoteAddress: string | undefined,
): CallFacts {
  const call = pending?.call;
  return {
    callSid: fromStart.callSid ?? call?.callSid,
    accountSid: fromStart.accountSid ?? call?.accountSid,
    streamSid: fromStart.streamSid,
    from: call?.from,
    to: call?.to,
    direction: call?.direction,
    callerName: call?.callerName,
    customParameters: { ...pending?.parameters, ...fromStart.customParameters },
    remoteAddress,
    // Media flows, so the call is answered; machine detection's verdict came with the webhook.
    callStatus: 'in-progress',
    ...(call?.params.AnsweredBy ? { answeredBy: call.params.AnsweredBy } : {}),
  };
}
