import { randomBytes } from 'node:crypto';
import http from 'node:http';
import twilio from 'twilio';
import WebSocket from 'ws';
import { socketLife } from './socket-life.js';

/** A Twilio-style SID: prefix + 32 hex characters. */
export function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

export interface WebhookResult {
  status: number;
  body: string;
  /** The `<Stream url>` of `<Connect>`, when the TwiML has one. */
  streamUrl?: string;
  /** The `<Parameter>`s of the stream. */
  parameters: Record<string, string>;
  rejected: boolean;
}

export interface DialOptions {
  /** Where the server really listens (http://127.0.0.1:port). */
  baseUrl: string;
  /** The public origin Twilio would use (and signs): e.g. https://voice.example.test. */
  publicUrl: string;
  /** Path of the webhook under the origin. */
  webhookPath?: string;
  authToken?: string;
  /** Sign with this token instead (a forgery), or false to send no signature. */
  signWith?: string | false;
  params?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** Host header to send instead of baseUrl's (e.g. a tunnel's public host, the socket going to its server). */
  host?: string;
  /** More headers to send. */
  headers?: Record<string, string>;
}

/** Plays Twilio's webhook request: signed POST of call parameters, TwiML parsed from the answer. */
export async function postWebhook(options: DialOptions): Promise<WebhookResult> {
  const path = options.webhookPath ?? '/telephone/incoming';
  const params = options.params ?? {};
  const method = options.method ?? 'POST';
  const query = method === 'GET' ? `?${new URLSearchParams(params)}` : '';
  const publicUrl = options.publicUrl + path + query;
  const headers: Record<string, string> = { ...options.headers };
  const key = options.signWith === undefined ? options.authToken : options.signWith;
  if (key) headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(key, publicUrl, method === 'POST' ? params : {});
  let body: string | undefined;
  if (method === 'POST') {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(params).toString();
  }
  if (options.host) headers.Host = options.host;
  const response = await request(options.baseUrl + path + query, method, headers, body);
  return { status: response.status, body: response.text, ...parseTwiml(response.text) };
}

/** One HTTP request with node:http (fetch cannot set Host). */
function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  if (body !== undefined) headers = { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Pulls the stream URL and parameters out of TwiML (enough for callstream's own answers). */
export function parseTwiml(xml: string): { streamUrl?: string; parameters: Record<string, string>; rejected: boolean } {
  const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const streamUrl = /<Stream[^>]*\surl="([^"]*)"/.exec(xml)?.[1];
  const parameters: Record<string, string> = {};
  for (const match of xml.matchAll(/<Parameter\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g)) {
    parameters[decode(match[1]!)] = decode(match[2]!);
  }
  return { streamUrl: streamUrl && decode(streamUrl), parameters, rejected: /<Reject\b/.test(xml) };
}

export interface ReceivedMedia {
  bytes: Buffer;
  at: number;
}

export interface MediaStreamOptions {
  baseUrl: string;
  /** The wss:// URL from the TwiML: signed, but the socket goes to baseUrl with its path. */
  streamUrl: string;
  authToken?: string;
  signWith?: string | false;
  /** Echo marks as Twilio does once the audio before them has played (default true). */
  playMarks?: boolean;
  /** Host header to send instead of baseUrl's (through a tunnel server). */
  host?: string;
}

/**
 * Twilio's side of a media stream over a real WebSocket: connected/start/media/dtmf/stop out; media,
 * marks and clear in. It plays received audio on a simulated real-time buffer so marks come back
 * when their audio has played, and all pending marks come back at once after a clear.
 */
export class TwilioMediaStream {
  readonly ws: WebSocket;
  readonly streamSid = sid('MZ');
  readonly callSid: string;
  readonly media: ReceivedMedia[] = [];
  readonly marks: { name: string; played: boolean }[] = [];
  readonly messages: Record<string, unknown>[] = [];
  clears = 0;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private sequence = 1;
  private chunk = 1;
  private mediaTimestamp = 0;
  private bufferEnd = 0;
  private readonly pendingMarks = new Map<string, NodeJS.Timeout>();
  private readonly playMarks: boolean;

  constructor(options: MediaStreamOptions, callSid = sid('CA')) {
    this.callSid = callSid;
    this.playMarks = options.playMarks ?? true;
    const path = new URL(options.streamUrl).pathname;
    const headers: Record<string, string> = {};
    const key = options.signWith === undefined ? options.authToken : options.signWith;
    if (key) headers['X-Twilio-Signature'] = twilio.getExpectedTwilioSignature(key, options.streamUrl, {});
    if (options.host) headers.Host = options.host;
    this.ws = new WebSocket(options.baseUrl.replace(/^http/, 'ws') + path, { headers });
    ({ opened: this.opened, closed: this.closed } = socketLife(this.ws));
    this.ws.on('message', (data) => this.onMessage(data.toString()));
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendConnected(): void {
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  }

  sendStart(customParameters: Record<string, string>, accountSid = sid('AC')): void {
    this.send({
      event: 'start',
      sequenceNumber: String(this.sequence++),
      streamSid: this.streamSid,
      start: {
        accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        customParameters,
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
  }

  /** Connects and starts the stream in one go. */
  async begin(customParameters: Record<string, string>): Promise<void> {
    await this.opened;
    this.sendConnected();
    this.sendStart(customParameters);
  }

  sendMedia(bytes: Uint8Array): void {
    this.send({
      event: 'media',
      sequenceNumber: String(this.sequence++),
      streamSid: this.streamSid,
      media: { track: 'inbound', chunk: String(this.chunk++), timestamp: String(this.mediaTimestamp), payload: Buffer.from(bytes).toString('base64') },
    });
    this.mediaTimestamp += Math.round(bytes.length / 8);
  }

  sendDtmf(digit: string): void {
    this.send({ event: 'dtmf', sequenceNumber: String(this.sequence++), streamSid: this.streamSid, dtmf: { track: 'inbound_track', digit } });
  }

  sendStop(): void {
    this.send({ event: 'stop', sequenceNumber: String(this.sequence++), streamSid: this.streamSid, stop: { accountSid: 'AC', callSid: this.callSid } });
  }

  /** All audio received so far, concatenated. */
  receivedAudio(): Buffer {
    return Buffer.concat(this.media.map((m) => m.bytes));
  }

  /** Resolves when `predicate` holds (checked on every message), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('message', check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.ws.off('message', check);
        resolve();
      };
      this.ws.on('message', check);
    });
  }

  close(): void {
    for (const timer of this.pendingMarks.values()) clearTimeout(timer);
    this.pendingMarks.clear();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  /** Drops the TCP connection without a close frame. */
  destroy(): void {
    this.close();
    this.ws.terminate();
  }

  private onMessage(text: string): void {
    const message = JSON.parse(text) as Record<string, unknown>;
    this.messages.push(message);
    const now = performance.now();
    switch (message.event) {
      case 'media': {
        const bytes = Buffer.from((message.media as { payload: string }).payload, 'base64');
        this.media.push({ bytes, at: now });
        this.bufferEnd = Math.max(now, this.bufferEnd) + bytes.length / 8;
        break;
      }
      case 'mark': {
        const name = (message.mark as { name: string }).name;
        if (!this.playMarks) break;
        const timer = setTimeout(() => this.echoMark(name, true), Math.max(0, this.bufferEnd - now));
        this.pendingMarks.set(name, timer);
        break;
      }
      case 'clear': {
        this.clears++;
        this.bufferEnd = now;
        for (const [name, timer] of this.pendingMarks) {
          clearTimeout(timer);
          this.echoMark(name, false);
        }
        break;
      }
    }
  }

  private echoMark(name: string, played: boolean): void {
    this.pendingMarks.delete(name);
    this.marks.push({ name, played });
    if (this.isOpen) this.send({ event: 'mark', sequenceNumber: String(this.sequence++), streamSid: this.streamSid, mark: { name } });
  }
}
