import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamOptions } from '../../src/options.js';
import { createTwilioClient, type TwilioClient } from '../../src/twilio/client.js';
import { FakeCalls } from './fake-calls.js';
import { sid } from './twilio-call.js';

/** One request the fake API received. */
export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  /** The form-encoded body (Twilio's REST bodies), decoded (the last value of a repeated key). */
  form: Record<string, string>;
  /** Every value of each form key, in order (Twilio repeats keys for lists, e.g. StatusCallbackEvent). */
  formAll: Record<string, string[]>;
  /** Basic-auth user: the account SID or the API key. */
  user: string | undefined;
}

/** A failure to answer instead of the real thing, in Twilio's error JSON. */
export interface ScriptedFailure {
  status: number;
  code: number;
  message: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** A route of the fake: the path regex's groups are passed on (after the account, which is checked). */
export type RouteHandler = (request: RecordedRequest, groups: string[]) => Reply;

/** An IncomingPhoneNumber as Twilio's JSON has it (snake_case). */
export type NumberRecord = Record<string, unknown> & { sid: string; phone_number: string };

export interface TwilioIceServerRecord {
  url: string;
  urls: string;
  username?: string;
  credential?: string;
}

const API = '/2010-04-01/Accounts/';

/**
 * Twilio's REST API, the parts callstream uses, on loopback: IncomingPhoneNumbers (list with
 * paging and the PhoneNumber filter, fetch, update) and Tokens (create). Speaks Twilio's JSON
 * (snake_case, RFC 2822 dates, `{code, message, more_info, status}` errors), checks Basic auth
 * (account SID + auth token, or API key + secret), records every request, and can fail on cue.
 * Calls (create, update, fetch, recordings) live in `calls` (test/support/fake-calls.ts), which
 * also plays Twilio's side of each call; more resources are added with `route()`.
 */
export class FakeTwilioApi {
  readonly accountSid = sid('AC');
  readonly authToken = randomBytes(16).toString('hex');
  readonly apiKey = sid('SK');
  readonly apiSecret = randomBytes(16).toString('hex');
  readonly requests: RecordedRequest[] = [];
  readonly numbers = new Map<string, NumberRecord>();
  /** Calls placed through the API, and Twilio's side of them (answer, busy, status callbacks...). */
  readonly calls: FakeCalls;
  /** What `Tokens` answers (Network Traversal Service). */
  iceServers: TwilioIceServerRecord[] = [
    { url: 'stun:global.stun.twilio.com:3478', urls: 'stun:global.stun.twilio.com:3478' },
    { url: 'turn:global.turn.twilio.com:3478?transport=udp', urls: 'turn:global.turn.twilio.com:3478?transport=udp', username: 'u', credential: 'c' },
  ];
  url = '';
  /** Called with each request before it is answered (to look at the world at that moment). */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  private readonly routes: { method: string; pattern: RegExp; handle: RouteHandler }[] = [];
  /** While set, answers wait for it (the request has been handled): news about a call can then beat the REST answer. */
  replyGate: Promise<void> | undefined;
  private readonly failures: { method: string; pattern: RegExp; failure: ScriptedFailure; times: number }[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  static async start(): Promise<FakeTwilioApi> {
    const api = new FakeTwilioApi();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    return api;
  }

  private constructor() {
    this.route('GET', /^IncomingPhoneNumbers\.json$/, (request) => this.listNumbers(request));
    this.route('GET', /^IncomingPhoneNumbers\/(PN\w+)\.json$/, (request, [pn]) => this.withNumber(request, pn!, (n) => ({ status: 200, body: n })));
    this.route('POST', /^IncomingPhoneNumbers\/(PN\w+)\.json$/, (request, [pn]) => this.withNumber(request, pn!, (n) => this.updateNumber(n, request.form)));
    this.route('POST', /^Tokens\.json$/, (request) => this.createToken(request));
    this.calls = new FakeCalls(this);
  }

  /** Adds a route for paths under `/2010-04-01/Accounts/{AccountSid}/` (the pattern sees the rest). */
  route(method: string, pattern: RegExp, handle: RouteHandler): void {
    this.routes.push({ method, pattern, handle });
  }

  /** Answers the next `times` requests matching method and path (regex on the full path) with `failure`. */
  failNext(method: string, pattern: RegExp, failure: ScriptedFailure, times = 1): void {
    this.failures.push({ method, pattern, failure, times });
  }

  /** Adds a number to the account, with Twilio's defaults for a fresh one. */
  addNumber(phoneNumber: string, fields: Record<string, unknown> = {}): NumberRecord {
    const pn = sid('PN');
    const now = rfc2822(new Date());
    const record: NumberRecord = {
      account_sid: this.accountSid,
      address_requirements: 'none',
      address_sid: null,
      api_version: '2010-04-01',
      beta: false,
      capabilities: { fax: false, mms: true, sms: true, voice: true },
      date_created: now,
      date_updated: now,
      emergency_status: 'Inactive',
      emergency_address_sid: null,
      friendly_name: phoneNumber,
      identity_sid: null,
      origin: 'twilio',
      phone_number: phoneNumber,
      sid: pn,
      sms_application_sid: '',
      sms_fallback_method: 'POST',
      sms_fallback_url: '',
      sms_method: 'POST',
      sms_url: 'https://demo.twilio.com/welcome/sms/reply',
      status_callback: '',
      status_callback_method: 'POST',
      trunk_sid: null,
      uri: `${API}${this.accountSid}/IncomingPhoneNumbers/${pn}.json`,
      voice_application_sid: null,
      voice_caller_id_lookup: false,
      voice_fallback_method: 'POST',
      voice_fallback_url: null,
      voice_method: 'POST',
      voice_receive_mode: 'voice',
      voice_url: 'https://demo.twilio.com/welcome/voice/',
      status: 'in-use',
      type: 'local',
      ...fields,
    };
    this.numbers.set(pn, record);
    return record;
  }

  /** The requests with this method whose path contains `fragment`. */
  requestsTo(method: string, fragment: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.includes(fragment));
  }

  /** Stream options giving a Stream REST access to this fake, and its auth token for signatures. */
  streamOptions(): Pick<StreamOptions, 'twilio' | 'twilioAuthToken'> {
    return { twilioAuthToken: this.authToken, twilio: { accountSid: this.accountSid, authToken: this.authToken, apiBaseUrl: this.url } };
  }

  /** A twilio REST client on this fake's account. */
  client(): TwilioClient {
    return createTwilioClient({ accountSid: this.accountSid, authToken: this.authToken, apiBaseUrl: this.url });
  }

  /** Environment pointing the twilio helper (and the CLI) at this fake, with the auth token. */
  env(): Record<string, string> {
    return { TWILIO_ACCOUNT_SID: this.accountSid, TWILIO_AUTH_TOKEN: this.authToken, TWILIO_API_BASE_URL: this.url };
  }

  async close(): Promise<void> {
    this.calls.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = new URLSearchParams(Buffer.concat(chunks).toString());
    const formAll: Record<string, string[]> = {};
    for (const [key, value] of body) (formAll[key] ??= []).push(value);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form: Object.fromEntries(body),
      formAll,
      user: basicUser(req.headers.authorization),
    };
    this.requests.push(request);
    this.onRequest?.(request);
    const reply = this.answer(request, req.headers.authorization);
    await this.replyGate;
    res.writeHead(reply.status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  private answer(request: RecordedRequest, authorization: string | undefined): Reply {
    if (!this.authorized(authorization)) return twilioError(401, 20003, 'Authenticate');
    const failure = this.failures.find((f) => f.times > 0 && f.method === request.method && f.pattern.test(request.path));
    if (failure) {
      failure.times--;
      return twilioError(failure.failure.status, failure.failure.code, failure.failure.message);
    }
    const notFound = twilioError(404, 20404, `The requested resource ${request.path} was not found`);
    if (!request.path.startsWith(API)) return notFound;
    const [account, ...rest] = request.path.slice(API.length).split('/');
    if (account !== this.accountSid) return notFound;
    const tail = rest.join('/');
    for (const route of this.routes) {
      const match = route.method === request.method ? route.pattern.exec(tail) : null;
      if (match) return route.handle(request, match.slice(1));
    }
    return notFound;
  }

  private authorized(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    const [user, ...secret] = Buffer.from(header.slice(6), 'base64').toString().split(':');
    const password = secret.join(':');
    return (user === this.accountSid && password === this.authToken) || (user === this.apiKey && password === this.apiSecret);
  }

  private listNumbers(request: RecordedRequest): Reply {
    const filter = request.query.PhoneNumber;
    const pattern = filter ? new RegExp(filter.replace(/[+]/g, '\\+').replace(/\*/g, '\\d')) : undefined;
    const all = [...this.numbers.values()].filter((n) => !pattern || pattern.test(n.phone_number));
    const pageSize = Number(request.query.PageSize ?? 50);
    const page = Number(request.query.Page ?? 0);
    const items = all.slice(page * pageSize, (page + 1) * pageSize);
    const base = `${API}${this.accountSid}/IncomingPhoneNumbers.json`;
    const query = (p: number) => `?${new URLSearchParams({ ...(filter ? { PhoneNumber: filter } : {}), PageSize: String(pageSize), Page: String(p) })}`;
    return {
      status: 200,
      body: {
        first_page_uri: base + query(0),
        end: page * pageSize + Math.max(0, items.length - 1),
        previous_page_uri: page > 0 ? base + query(page - 1) : null,
        incoming_phone_numbers: items,
        uri: base + query(page),
        page_size: pageSize,
        start: page * pageSize,
        next_page_uri: (page + 1) * pageSize < all.length ? base + query(page + 1) : null,
        page,
      },
    };
  }

  private withNumber(request: RecordedRequest, pn: string, then: (number: NumberRecord) => Reply): Reply {
    const number = this.numbers.get(pn);
    return number ? then(number) : twilioError(404, 20404, `The requested resource ${request.path} was not found`);
  }

  private updateNumber(number: NumberRecord, form: Record<string, string>): Reply {
    for (const [key, value] of Object.entries(form)) {
      const field = key.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());
      if (!(field in number) || field === 'sid' || field === 'account_sid') {
        return twilioError(400, 20001, `Unknown or read-only parameter ${key}`);
      }
      number[field] = value;
    }
    number.date_updated = rfc2822(new Date());
    return { status: 200, body: number };
  }

  private createToken(request: RecordedRequest): Reply {
    const now = rfc2822(new Date());
    const turn = this.iceServers.find((s) => s.username);
    return {
      status: 201,
      body: {
        account_sid: this.accountSid,
        date_created: now,
        date_updated: now,
        ice_servers: this.iceServers,
        password: turn?.credential ?? '',
        ttl: request.form.Ttl ?? '86400',
        username: turn?.username ?? '',
      },
    };
  }
}

export function twilioError(status: number, code: number, message: string): Reply {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}

function basicUser(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  return Buffer.from(header.slice(6), 'base64').toString().split(':')[0];
}

export function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}
