import type WebSocket from 'ws';
import { bytesLEToPcm } from '../../audio/framing.js';
import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import type { TimerHandle } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { resolveInputFormat, resolveOutputFormat } from '../../session/handler.js';
import type { Session } from '../../session/session.js';
import { CLIENT_ID } from '../webrtc/offer-route.js';
import type { TransportRuntime } from '../runtime.js';
import { closeReason, CloseCode, decodeBase64Strict, parseJsonObject } from '../wire.js';
import { parseMediaFormat, toWire } from './media-format.js';
import { WebSocketLink } from './websocket-link.js';

const PHONE_LIKE: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };

/**
 * One program on `WS {path}/websocket/offer`, FastRTC's protocol: `start` (with callstream's optional
 * `mediaFormat`), `media`, `stop`, `ping` in; `started`, `media`, `clear`, `pong` and the `{type, data}`
 * messages out. Errors are told as `{type: "error", message}` before the socket closes.
 */
export class WebSocketConnection {
  private session: Session | undefined;
  private readonly log: Logger;
  private readonly startTimer: TimerHandle;
  private closed = false;
  private wireFormat: AudioFormat | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly runtime: TransportRuntime,
    private readonly remoteAddress: string | undefined,
  ) {
    this.log = runtime.logger.child({ transport: 'websocket', remoteAddress });
    const { startTimeoutMs } = runtime.options.websocket;
    this.startTimer = runtime.clock.after(startTimeoutMs, () => this.refuse(CloseCode.policyViolation, `No start message within ${startTimeoutMs} ms.`));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (error) => {
      this.log.warn({ err: error }, 'websocket error');
      this.session?.end('protocol_error', error.message);
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.refuse(CloseCode.unsupportedData, 'Binary frames are not part of the protocol: send JSON text.');
    const message = parseJsonObject(data.toString('utf8'));
    if (!message) return this.refuse(CloseCode.invalidPayload, 'A message is not a JSON object.');
    switch (message.event) {
      case 'media':
        return this.onMedia(message);
      case 'ping':
        return this.send({ event: 'pong' });
      case 'start':
        return this.onStart(message);
      case 'stop':
        if (!this.session) return this.refuse(CloseCode.protocolError, 'stop before start.');
        this.session.end('remote_stop', 'The client stopped the stream.');
        return;
      case 'dtmf': {
        const digit = (message.dtmf as { digit?: unknown } | undefined)?.digit;
        if (!this.session) return this.refuse(CloseCode.protocolError, 'dtmf before start.');
        if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit)) return this.refuse(CloseCode.protocolError, 'dtmf.digit must be one of 0-9 * # A-D.');
        this.session.receiveDtmf(digit);
        return;
      }
      default:
        return this.refuse(CloseCode.protocolError, `Unknown event ${JSON.stringify(String(message.event)).slice(0, 40)}: expected start, media, stop, ping or dtmf.`);
    }
  }

  private onStart(message: Record<string, unknown>): void {
    if (this.session) return this.refuse(CloseCode.protocolError, 'A second start message.');
    const id = message.websocket_id;
    if (typeof id !== 'string' || !CLIENT_ID.test(id)) return this.refuse(CloseCode.protocolError, 'websocket_id must be 1-128 letters, digits, "_" or "-".');
    const formats = this.formats(message.mediaFormat);
    if (typeof formats === 'string') return this.refuse(CloseCode.invalidPayload, formats);
    if (this.runtime.getSession(id)) return this.refuse(CloseCode.policyViolation, `A session with id "${id}" already exists.`);
    const slot = this.runtime.accepting ? this.runtime.registry.reserve('websocket') : undefined;
    if (!slot) {
      this.send({ status: 'failed', meta: { error: 'concurrency_limit_reached', limit: this.runtime.options.concurrencyLimit } });
      this.closed = true;
      this.startTimer.cancel();
      this.log.warn({ limit: this.runtime.options.concurrencyLimit }, 'websocket refused: concurrency limit reached');
      this.ws.close(CloseCode.tryAgainLater, 'concurrency_limit_reached');
      return;
    }
    this.startTimer.cancel();
    this.wireFormat = formats.input;
    const session = this.runtime.openSession({
      id,
      link: new WebSocketLink(this.ws, formats.input, formats.output),
      facts: { customParameters: {}, remoteAddress: this.remoteAddress },
      slot,
      leadMs: this.runtime.options.websocket.leadMs,
    });
    session.inlineOutputs = message.inlineOutputs === true;
    this.session = session;
    this.send({
      event: 'started',
      websocket_id: id,
      mediaFormat: toWire(formats.input),
      outputMediaFormat: toWire(formats.output),
      session: { id: session.id, secret: session.secret },
    });
    session.start();
  }

  /** The client's explicit format for both ways, or FastRTC's default: μ-law at the handler's own rates. */
  private formats(requested: unknown): { input: AudioFormat; output: AudioFormat } | string {
    if (requested !== undefined) {
      const format = parseMediaFormat(requested);
      return typeof format === 'string' ? format : { input: format, output: format };
    }
    const handler = this.runtime.handler;
    const input = resolveInputFormat(handler, PHONE_LIKE);
    const output = resolveOutputFormat(handler, { encoding: 'mulaw', sampleRate: input.sampleRate });
    return { input: { encoding: 'mulaw', sampleRate: input.sampleRate }, output: { encoding: 'mulaw', sampleRate: output.sampleRate } };
  }

  private onMedia(message: Record<string, unknown>): void {
    const session = this.session;
    if (!session) return this.refuse(CloseCode.protocolError, 'media before start.');
    const payload = (message.media as { payload?: unknown } | undefined)?.payload;
    if (typeof payload !== 'string') return this.refuse(CloseCode.protocolError, 'A media message lacks media.payload.');
    const bytes = decodeBase64Strict(payload);
    if (!bytes) return this.refuse(CloseCode.invalidPayload, 'media.payload is not valid base64.');
    if (bytes.length === 0) return;
    const format = this.wireFormat!;
    let frame: AudioFrame;
    if (format.encoding === 'pcm16') {
      if (bytes.length % 2 !== 0) return this.refuse(CloseCode.invalidPayload, 'audio/x-pcm16le media must have an even number of bytes.');
      frame = { encoding: 'pcm16', sampleRate: format.sampleRate, samples: bytesLEToPcm(bytes) };
    } else {
      frame = { encoding: 'mulaw', sampleRate: format.sampleRate, bytes };
    }
    session.receiveAudio(frame);
  }

  private send(message: unknown): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Tells the client what went wrong, then closes with a code that says it. */
  private refuse(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.startTimer.cancel();
    this.log.warn({ code, reason, sessionId: this.session?.id }, 'websocket closed: protocol error');
    this.send({ type: 'error', message: reason });
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, closeReason(reason));
    this.session?.end('protocol_error', reason);
  }

  private onClose(code: number): void {
    this.closed = true;
    this.startTimer.cancel();
    this.session?.end('remote_closed', `The client closed the socket (${code}).`);
  }
}
