import type WebSocket from 'ws';
import { bytesLEToPcm } from '../../audio/framing.js';
import type { AudioFormat, AudioFrame } from '../../audio/frame.js';
import { resolveInputFormat, resolveOutputFormat } from '../../session/handler.js';
import type { TransportRuntime } from '../runtime.js';
import { JsonSocketConnection } from '../json-socket.js';
import { CLIENT_ID, CloseCode, decodeBase64Strict, isDtmfDigit } from '../wire.js';
import { parseMediaFormat, toWire } from './media-format.js';
import { WebSocketLink } from './websocket-link.js';

const PHONE_LIKE: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };

/**
 * One program on `WS {path}/websocket/offer`, FastRTC's protocol: `start` (with callstream's optional
 * `mediaFormat`), `media`, `stop`, `ping` in; `started`, `media`, `clear`, `pong` and the `{type, data}`
 * messages out. Errors are told as `{type: "error", message}` before the socket closes.
 */
export class WebSocketConnection extends JsonSocketConnection {
  private wireFormat: AudioFormat | undefined;
  private starting = false;

  constructor(
    ws: WebSocket,
    runtime: TransportRuntime,
    private readonly remoteAddress: string | undefined,
  ) {
    super(ws, runtime, {
      transport: 'websocket',
      remoteAddress,
      startTimeoutMs: runtime.options.websocket.startTimeoutMs,
      protocol: 'the protocol',
      tellPeer: true,
    });
  }

  protected onMessage(message: Record<string, unknown>): void | Promise<void> {
    switch (message.event) {
      case 'media':
        return this.onMedia(message);
      case 'ping':
        if (!this.session) return this.refuse(CloseCode.protocolError, 'ping before start.');
        return this.sendJson({ event: 'pong' });
      case 'start':
        return this.onStart(message);
      case 'stop':
        if (!this.session) return this.refuse(CloseCode.protocolError, 'stop before start.');
        this.session.end('remote_stop', 'The client stopped the stream.');
        return;
      case 'dtmf': {
        const digit = (message.dtmf as { digit?: unknown } | undefined)?.digit;
        if (!this.session) return this.refuse(CloseCode.protocolError, 'dtmf before start.');
        if (!isDtmfDigit(digit)) return this.refuse(CloseCode.protocolError, 'dtmf.digit must be one of 0-9 * # A-D.');
        this.session.receiveDtmf(digit);
        return;
      }
      default:
        return this.refuse(CloseCode.protocolError, `Unknown event ${JSON.stringify(String(message.event)).slice(0, 40)}: expected start, media, stop, ping or dtmf.`);
    }
  }

  private async onStart(message: Record<string, unknown>): Promise<void> {
    if (this.session || this.starting) return this.refuse(CloseCode.protocolError, 'A second start message.');
    const id = message.websocket_id;
    if (typeof id !== 'string' || !CLIENT_ID.test(id)) return this.refuse(CloseCode.protocolError, 'websocket_id must be 1-128 letters, digits, "_" or "-".');
    const formats = this.formats(message.mediaFormat);
    if (typeof formats === 'string') return this.refuse(CloseCode.invalidPayload, formats);
    const alreadyExists = () => this.refuse(CloseCode.policyViolation, `A session with id "${id}" already exists.`);
    if (this.runtime.getSession(id)) return alreadyExists();
    this.starting = true;
    const admission = await this.runtime.admit({ transport: 'websocket', id });
    if (!admission.admitted) {
      if (admission.reason === 'taken') return alreadyExists();
      const limit = this.runtime.options.concurrencyLimit;
      if (admission.reason === 'busy') this.runtime.clientFaults.warn(this.log, { limit }, 'websocket refused: concurrency limit reached');
      const error = admission.reason === 'busy' ? 'concurrency_limit_reached' : admission.reason === 'draining' ? 'shutting_down' : 'server_unavailable';
      const failed = { status: 'failed', meta: { error, ...(admission.reason === 'busy' ? { limit } : {}) } };
      return this.closeWith(CloseCode.tryAgainLater, error, failed);
    }
    if (this.isClosed) return admission.giveBack();
    this.wireFormat = formats.input;
    const session = this.runtime.openSession({
      id,
      link: new WebSocketLink(this.writer, formats.input, formats.output),
      facts: { customParameters: {}, remoteAddress: this.remoteAddress },
      place: admission.place,
      leadMs: this.runtime.options.websocket.leadMs,
    });
    session.inlineOutputs = message.inlineOutputs === true;
    this.began(session);
    this.sendJson({
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
}
