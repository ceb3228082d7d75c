import type { FakeTwilioApi, RecordedRequest, Reply } from './fake-twilio.js';
import { rfc2822, twilioError } from './fake-twilio.js';
import { parseTwiml, postWebhook, sid, TwilioMediaStream, type WebhookResult } from './twilio-call.js';

const API = '/2010-04-01/Accounts/';
const FINAL = ['completed', 'busy', 'failed', 'no-answer', 'canceled'];

/** How the fake reaches a public origin: the server really listens at `baseUrl` (with `host` as Host header, through a tunnel server). */
export interface Reach {
  baseUrl: string;
  host?: string;
}

/** A status callback the fake sent, and what the server answered. */
export interface SentCallback {
  url: string;
  params: Record<string, string>;
  status: number;
}

/**
 * Twilio's Calls resource and Twilio's side of each call: `POST Calls.json` creates a call (To,
 * From, Url or Twiml, StatusCallback, StatusCallbackEvent, MachineDetection, Timeout...), `POST
 * Calls/CA….json` updates it (Status=completed, Twiml), `GET` fetches it, `POST Calls/CA…/Recordings.json`
 * starts a recording. Nothing happens to a created call until the test scripts it (`next()`, then
 * `answer()`, `busy()`...). The fake signs every webhook and callback with the account's auth token
 * over the public URL, and sends it where `reach()` says that origin really is.
 */
export class FakeCalls {
  readonly byId = new Map<string, FakeCall>();
  private readonly origins = new Map<string, Reach>();
  private readonly unclaimed: FakeCall[] = [];
  private readonly waiters: ((call: FakeCall) => void)[] = [];

  constructor(readonly api: FakeTwilioApi) {
    api.route('POST', /^Calls\.json$/, (request) => this.create(request));
    api.route('GET', /^Calls\/(CA\w+)\.json$/, (request, [ca]) => this.with(request, ca!, (call) => ({ status: 200, body: call.record })));
    api.route('POST', /^Calls\/(CA\w+)\.json$/, (request, [ca]) => this.with(request, ca!, (call) => call.update(request)));
    api.route('POST', /^Calls\/(CA\w+)\/Recordings\.json$/, (request, [ca]) => this.with(request, ca!, (call) => call.startRecording(request)));
  }

  /** Says where a public origin (e.g. https://voice.example.test) really listens. */
  reach(publicOrigin: string, reach: Reach): void {
    this.origins.set(new URL(publicOrigin).origin, reach);
  }

  /** Where a public URL really goes. */
  resolve(publicUrl: string): Reach {
    const reach = this.origins.get(new URL(publicUrl).origin);
    if (!reach) throw new Error(`the fake Twilio does not know how to reach ${publicUrl}: call api.calls.reach() first`);
    return reach;
  }

  /** The next call created through the API (already created, or the next one to be). */
  next(timeoutMs = 10_000): Promise<FakeCall> {
    const waiting = this.unclaimed.shift();
    if (waiting) return Promise.resolve(waiting);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(deliver), 1);
        reject(new Error(`no call was created within ${timeoutMs} ms`));
      }, timeoutMs);
      const deliver = (call: FakeCall) => {
        clearTimeout(timer);
        resolve(call);
      };
      this.waiters.push(deliver);
    });
  }

  /** Closes every media stream the fake opened. */
  close(): void {
    for (const call of this.byId.values()) call.media?.close();
  }

  private create(request: RecordedRequest): Reply {
    const { To, From, Url, Twiml } = request.form;
    if (!To) return twilioError(400, 21201, 'No \'To\' number is specified');
    if (!From) return twilioError(400, 21213, 'No \'From\' number is specified');
    if (!Url && !Twiml) return twilioError(400, 21205, 'Url parameter is required.');
    const call = new FakeCall(this, request);
    this.byId.set(call.sid, call);
    const waiter = this.waiters.shift();
    if (waiter) waiter(call);
    else this.unclaimed.push(call);
    return { status: 201, body: call.record };
  }

  private with(request: RecordedRequest, ca: string, then: (call: FakeCall) => Reply): Reply {
    const call = this.byId.get(ca);
    return call ? then(call) : twilioError(404, 20404, `The requested resource ${request.path} was not found`);
  }
}

/** One call as Twilio sees it; the test decides what happens to it. */
export class FakeCall {
  readonly sid = sid('CA');
  /** The create request's parameters. */
  readonly form: Record<string, string>;
  readonly formAll: Record<string, string[]>;
  /** Twilio's JSON for the call (snake_case). */
  readonly record: Record<string, unknown>;
  /** Update requests (`POST Calls/CA….json`) and recording requests, in order. */
  readonly updates: RecordedRequest[] = [];
  readonly recordings: RecordedRequest[] = [];
  /** Status callbacks and stream events sent. */
  readonly callbacks: SentCallback[] = [];
  /** The webhook's answer, once answered through `Url`. */
  webhook: WebhookResult | undefined;
  /** The media stream, once answered. */
  media: TwilioMediaStream | undefined;
  private sequence = 0;
  private streamCallback: string | undefined;
  private answeredAt = 0;

  constructor(
    private readonly calls: FakeCalls,
    request: RecordedRequest,
  ) {
    this.form = request.form;
    this.formAll = request.formAll;
    const now = rfc2822(new Date());
    const account = calls.api.accountSid;
    this.record = {
      sid: this.sid,
      account_sid: account,
      api_version: '2010-04-01',
      to: this.form.To,
      to_formatted: this.form.To,
      from: this.form.From,
      from_formatted: this.form.From,
      status: 'queued',
      direction: 'outbound-api',
      answered_by: null,
      duration: null,
      start_time: null,
      end_time: null,
      date_created: now,
      date_updated: now,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: 'USD',
      uri: `${API}${account}/Calls/${this.sid}.json`,
    };
  }

  get status(): string {
    return this.record.status as string;
  }

  /**
   * Picks up: `initiated` and `ringing` callbacks (when asked for), then `in-progress`, the signed
   * webhook (or the inline TwiML), and a signed media stream started with the TwiML's parameters,
   * then the `stream-started` event. `answeredBy` plays machine detection.
   */
  async answer(options: { answeredBy?: string } = {}): Promise<TwilioMediaStream> {
    await this.progress('initiated');
    await this.progress('ringing');
    const answeredBy = options.answeredBy ?? (this.form.MachineDetection ? 'human' : undefined);
    this.record.answered_by = answeredBy ?? null;
    this.answeredAt = Date.now();
    await this.setStatus('in-progress', answeredBy ? { AnsweredBy: answeredBy } : {});
    const twiml = await this.fetchTwiml(answeredBy);
    const { streamUrl, parameters } = parseTwiml(twiml);
    if (!streamUrl) throw new Error(`the call's TwiML has no <Stream>: ${twiml}`);
    this.streamCallback = /<Stream[^>]*\sstatusCallback="([^"]*)"/.exec(twiml)?.[1]?.replace(/&amp;/g, '&');
    const reach = this.calls.resolve(streamUrl.replace(/^ws/, 'http'));
    const media = new TwilioMediaStream({ baseUrl: reach.baseUrl, host: reach.host, streamUrl, authToken: this.calls.api.authToken }, this.sid);
    this.media = media;
    await media.opened;
    media.sendConnected();
    media.sendStart(parameters, this.calls.api.accountSid);
    await this.streamEvent('stream-started');
    return media;
  }

  /** The callee is busy: initiated, ringing, then `busy`. */
  async busy(): Promise<void> {
    await this.progress('initiated');
    await this.progress('ringing');
    await this.setStatus('busy');
  }

  /** Nobody answers: initiated, ringing, then `no-answer`. */
  async noAnswer(): Promise<void> {
    await this.progress('initiated');
    await this.progress('ringing');
    await this.setStatus('no-answer');
  }

  /** Twilio cannot place it: `failed`. */
  async fail(): Promise<void> {
    await this.setStatus('failed');
  }

  /** The callee hangs up: the media stream stops, then `stream-stopped` and `completed` with the call's duration. */
  async hangUp(): Promise<void> {
    await this.endMedia();
    await this.setStatus('completed');
  }

  /** Sends a signed status callback with `CallStatus` (and `extra`), if the call asked for that event. */
  async setStatus(status: string, extra: Record<string, string> = {}): Promise<void> {
    this.record.status = status;
    this.record.date_updated = rfc2822(new Date());
    if (FINAL.includes(status)) {
      const duration = this.answeredAt ? Math.round((Date.now() - this.answeredAt) / 1000) : 0;
      this.record.duration = String(duration);
      extra = { CallDuration: String(duration), ...extra };
    }
    const event = status === 'in-progress' ? 'answered' : FINAL.includes(status) ? 'completed' : status;
    if (!this.wants(event)) return;
    await this.callback(this.form.StatusCallback, {
      CallStatus: status,
      SequenceNumber: String(this.sequence++),
      CallbackSource: 'call-progress-events',
      Timestamp: new Date().toUTCString(),
      Direction: 'outbound-api',
      From: this.form.From!,
      To: this.form.To!,
      ...extra,
    });
  }

  /** Sends a `<Stream statusCallback>` event (stream-started, stream-stopped, stream-error). */
  async streamEvent(event: string, extra: Record<string, string> = {}): Promise<void> {
    if (!this.streamCallback) return;
    await this.callback(this.streamCallback, {
      StreamSid: this.media?.streamSid ?? '',
      StreamName: this.media?.streamSid ?? '',
      StreamEvent: event,
      Timestamp: new Date().toISOString(),
      ...extra,
    });
  }

  /** @internal `POST Calls/CA….json`. */
  update(request: RecordedRequest): Reply {
    this.updates.push(request);
    const { Status, Twiml } = request.form;
    if (Status === 'completed' || Status === 'canceled') {
      if (FINAL.includes(this.status)) return { status: 200, body: this.record };
      const ended = this.status === 'in-progress' ? 'completed' : 'canceled';
      this.record.status = ended;
      setImmediate(() => void this.endMedia().then(() => this.setStatus(ended)).catch(() => {}));
      return { status: 200, body: this.record };
    }
    if (Twiml !== undefined) {
      if (this.status !== 'in-progress') return twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.');
      // New TwiML ends <Connect><Stream>: Twilio stops the stream and runs the new verbs.
      setImmediate(() => void this.endMedia().catch(() => {}));
      return { status: 200, body: this.record };
    }
    return twilioError(400, 21218, 'Invalid update: give Status, Url or Twiml');
  }

  /** @internal `POST Calls/CA…/Recordings.json`. */
  startRecording(request: RecordedRequest): Reply {
    this.recordings.push(request);
    if (this.status !== 'in-progress') return twilioError(400, 21220, 'Requested resource is not eligible for recording');
    const now = rfc2822(new Date());
    return {
      status: 201,
      body: {
        sid: sid('RE'),
        account_sid: this.calls.api.accountSid,
        call_sid: this.sid,
        api_version: '2010-04-01',
        channels: request.form.RecordingChannels === 'dual' ? 2 : 1,
        source: 'StartCallRecordingAPI',
        status: 'in-progress',
        track: request.form.RecordingTrack ?? 'both',
        start_time: now,
        date_created: now,
        date_updated: now,
        uri: `${API}${this.calls.api.accountSid}/Calls/${this.sid}/Recordings.json`,
      },
    };
  }

  private wants(event: string): boolean {
    const events = this.formAll.StatusCallbackEvent ?? [];
    return event === 'completed' || events.includes(event);
  }

  private async progress(status: 'initiated' | 'ringing'): Promise<void> {
    if (this.status === 'queued' || this.status === 'initiated') await this.setStatus(status);
  }

  private async fetchTwiml(answeredBy: string | undefined): Promise<string> {
    if (this.form.Twiml) return this.form.Twiml;
    const url = new URL(this.form.Url!);
    const reach = this.calls.resolve(url.origin);
    this.webhook = await postWebhook({
      baseUrl: reach.baseUrl,
      host: reach.host,
      publicUrl: url.origin,
      webhookPath: url.pathname + url.search,
      authToken: this.calls.api.authToken,
      params: {
        AccountSid: this.calls.api.accountSid,
        ApiVersion: '2010-04-01',
        CallSid: this.sid,
        CallStatus: 'in-progress',
        Called: this.form.To!,
        Caller: this.form.From!,
        Direction: 'outbound-api',
        From: this.form.From!,
        To: this.form.To!,
        ...(answeredBy ? { AnsweredBy: answeredBy } : {}),
      },
    });
    if (this.webhook.status !== 200) throw new Error(`the webhook answered HTTP ${this.webhook.status}: ${this.webhook.body}`);
    return this.webhook.body;
  }

  private async endMedia(): Promise<void> {
    const media = this.media;
    if (!media || !media.isOpen) return;
    media.sendStop();
    media.close();
    await media.closed;
    await this.streamEvent('stream-stopped');
  }

  private async callback(url: string | undefined, params: Record<string, string>): Promise<void> {
    if (!url) return;
    const target = new URL(url);
    const reach = this.calls.resolve(target.origin);
    const all = { AccountSid: this.calls.api.accountSid, CallSid: this.sid, ApiVersion: '2010-04-01', ...params };
    try {
      const answer = await postWebhook({
        baseUrl: reach.baseUrl,
        host: reach.host,
        publicUrl: target.origin,
        webhookPath: target.pathname + target.search,
        authToken: this.calls.api.authToken,
        params: all,
      });
      this.callbacks.push({ url, params: all, status: answer.status });
    } catch {
      // The server is gone (shut down): Twilio would retry or give up; so does the fake.
      this.callbacks.push({ url, params: all, status: 0 });
    }
  }
}
