import { bytesLEToPcm, pcmToBytesLE } from '../../src/audio/framing.js';
import {
  AdditionalOutputs,
  type AudioFormat,
  type AudioFrame,
  CallstreamError,
  type PlayedEvent,
  type SessionContext,
  type StreamHandler,
} from '../../src/index.js';
import { fallbackTone } from './fallback.js';
import { type HeardItem, HeardAudio } from './heard-audio.js';
import { ModelSocket } from './model-socket.js';
import { type OpenAIRealtimeOptions, DEFAULT_TRANSCRIPTION_MODEL, realtimeUrl, type ToolCallHook } from './options.js';
import { type ClientEvent, functionOutput, gaName, type ModelAudio, object, type RealtimeTool, type ServerEvent, sessionUpdate, text, userText } from './protocol.js';
import { Responses } from './responses.js';
import { runToolCall } from './tool-call.js';

const PHONE: AudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
const PCM24: AudioFormat = { encoding: 'pcm16', sampleRate: 24000 };

/** The model's audio for a transport: μ-law untouched where the wire carries μ-law 8 kHz, 24 kHz PCM elsewhere. */
export function modelFormat(transport: AudioFormat): AudioFormat {
  return transport.encoding === 'mulaw' && transport.sampleRate === 8000 ? PHONE : PCM24;
}

/** What the bridge adds to the session's additional outputs. */
export type RealtimeOutput =
  /** What the caller said (the API's input transcription) or what the model said; `heard` when the caller cut it. */
  | { type: 'transcript'; role: 'user' | 'assistant'; itemId: string; text: string; heard?: HeardItem }
  /** The caller talked over the model: how much of the item they heard before it was cut. */
  | ({ type: 'interrupted' } & HeardItem)
  /** A function call and what it returned to the model. */
  | { type: 'tool_call'; name: string; callId: string; args: unknown; output: string };

/** Errors that say a barge-in or response request crossed the model's own doing: logged, never fatal. */
const CROSSED = new Set(['response_cancel_not_active', 'conversation_already_has_active_response']);
/** Prefix of the ids of events the bridge sends for barge-in and responses (errors about them are not fatal). */
const OWN_EVENT = 'callstream_';

/**
 * One phone call (or browser, or program) talking to a speech-to-speech model over one Realtime
 * WebSocket. See `openaiRealtime()`.
 */
export class OpenAIRealtimeBridge implements StreamHandler {
  readonly inputFormat = modelFormat;
  readonly outputFormat = modelFormat;
  private ctx: SessionContext | undefined;
  private socket: ModelSocket | undefined;
  private audio: ModelAudio = 'pcm24';
  private readonly heard = new HeardAudio();
  /** The session reported all the model's audio played (or nothing was ever queued). */
  private idle = true;
  private readonly responses = new Responses();
  /** What was heard of cut items, for their transcripts. */
  private readonly cutItems = new Map<string, HeardItem>();
  private readonly toolNames = new Map<string, string>();
  private carry: number | undefined;
  private interrupting = false;
  private eventSeq = 0;
  private failed = false;
  private ended = false;

  constructor(private readonly options: OpenAIRealtimeOptions) {
    if (!options.apiKey) throw new CallstreamError('CONFIG_ERROR', 'openaiRealtime() needs an apiKey (OPENAI_API_KEY).');
    realtimeUrl(options); // throws on a malformed url, at construction rather than on the first call
  }

  copy(): OpenAIRealtimeBridge {
    return new OpenAIRealtimeBridge(this.options);
  }

  startUp(ctx: SessionContext): void {
    this.ctx = ctx;
    const options = this.options;
    this.audio = ctx.inputFormat.encoding === 'mulaw' ? 'pcmu' : 'pcm24';
    const protocol = options.protocol ?? 'ga';
    const url = realtimeUrl(options);
    const where = new URL(url);
    ctx.log.info({ model: where.searchParams.get('model'), host: where.host, protocol, audio: this.audio }, 'connecting to the speech-to-speech model');
    const headers: Record<string, string> = { Authorization: `Bearer ${options.apiKey}` };
    if (protocol === 'beta') headers['OpenAI-Beta'] = 'realtime=v1';
    this.socket = new ModelSocket({
      url,
      headers,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      onEvent: (event) => this.onEvent(event),
      onFailure: (reason, detail) => this.fail(reason, detail),
      onGarbage: (message) => ctx.log.warn({ start: message.slice(0, 80) }, 'the model sent something that is not a JSON event; ignored'),
    });
    this.socket.send(
      sessionUpdate(protocol, this.audio, {
        instructions: options.instructions,
        voice: options.voice,
        transcription: options.transcription ?? DEFAULT_TRANSCRIPTION_MODEL,
        turnDetection: options.turnDetection,
        tools: options.tools ?? [],
        extra: options.session,
      }),
    );
    if (options.greeting) this.requestResponse({ instructions: options.greeting });
    ctx.on('played', (event: PlayedEvent) => {
      if (!event.idle || this.interrupting) return;
      this.idle = true;
      this.heard.allPlayed();
    });
  }

  /** The caller's audio, in the model's format already (the session converted it): appended as it comes. */
  receive(frame: AudioFrame): void {
    if (!this.socket || this.failed) return;
    const bytes = frame.encoding === 'mulaw' ? Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength) : pcmToBytesLE(frame.samples);
    this.socket.send({ type: 'input_audio_buffer.append', audio: bytes.toString('base64') });
  }

  onDtmf(digit: string): void {
    const mode = this.options.dtmf ?? 'respond';
    if (mode === 'ignore' || !this.socket || this.failed) return;
    this.socket.send(userText(`The caller pressed ${digit} on the keypad.`));
    if (mode === 'respond') this.requestResponse();
  }

  shutdown(): void {
    this.ended = true;
    this.socket?.close();
  }

  private onEvent(event: ServerEvent): void {
    if (this.failed || this.ended) return;
    try {
      this.dispatch(event);
    } catch (error) {
      this.fail(`the bridge could not handle a ${event.type} event: ${(error as Error).message}`, {});
    }
  }

  private dispatch(event: ServerEvent): void {
    switch (gaName(event.type)) {
      case 'response.output_audio.delta':
        return this.onAudio(event);
      case 'input_audio_buffer.speech_started':
        return this.bargeIn();
      case 'response.created':
        this.responses.created(text(object(event, 'response'), 'id'));
        return;
      case 'response.output_item.added':
        return this.onItemAdded(object(event, 'item'));
      case 'response.function_call_arguments.done':
        this.callTool(event).catch((error: unknown) => this.fail(`a function call could not be answered: ${(error as Error).message}`, {}));
        return;
      case 'response.output_audio_transcript.done':
        return this.transcript('assistant', event);
      case 'conversation.item.input_audio_transcription.completed':
        return this.transcript('user', event);
      case 'response.done':
        return this.onResponseDone(object(event, 'response'));
      case 'error':
        return this.onError(object(event, 'error'));
      case 'session.created':
      case 'session.updated':
        this.ctx!.log.debug({ event: event.type }, 'model session configured');
        return;
      default:
        return;
    }
  }

  private onAudio(event: ServerEvent): void {
    const itemId = text(event, 'item_id') ?? '';
    const responseId = text(event, 'response_id');
    if (this.responses.dropped(itemId, responseId)) return;
    const delta = text(event, 'delta');
    if (!delta) return;
    const bytes = Buffer.from(delta, 'base64');
    let frame: AudioFrame;
    let ms: number;
    if (this.audio === 'pcmu') {
      frame = { encoding: 'mulaw', sampleRate: 8000, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
      ms = bytes.length / 8;
    } else {
      const samples = bytesLEToPcm(this.evenBytes(bytes));
      frame = { encoding: 'pcm16', sampleRate: 24000, samples };
      ms = samples.length / 24;
    }
    if (ms === 0) return;
    this.heard.add(itemId, ms);
    this.idle = false;
    this.ctx!.send(frame);
  }

  /** PCM bytes in whole samples: an odd byte waits for the next delta. */
  private evenBytes(bytes: Buffer): Buffer {
    const joined = this.carry === undefined ? bytes : Buffer.concat([Buffer.of(this.carry), bytes]);
    this.carry = joined.length % 2 === 1 ? joined[joined.length - 1] : undefined;
    return this.carry === undefined ? joined : joined.subarray(0, joined.length - 1);
  }

  /**
   * The caller started talking: their audio stops at once, the model is told what they heard of each
   * item it was saying (`conversation.item.truncate`), and the response in flight is cancelled.
   */
  private bargeIn(): void {
    const ctx = this.ctx!;
    const playing = !this.idle;
    // interrupt() reports idle playback as it returns: that news is the cut's to apply, not allPlayed()'s.
    this.interrupting = true;
    const report = playing ? ctx.interrupt() : undefined;
    this.interrupting = false;
    this.idle = true;
    this.carry = undefined;
    const responseId = this.responses.current;
    const cuts = playing || responseId ? this.heard.cut(report?.unplayedMs ?? 0, (id) => this.responses.producing(id)) : [];
    for (const cut of cuts) {
      this.send({ type: 'conversation.item.truncate', event_id: this.eventId('truncate'), item_id: cut.itemId, content_index: 0, audio_end_ms: Math.floor(cut.heardMs) });
      this.responses.drop(cut.itemId);
      this.remember(cut);
      ctx.send(new AdditionalOutputs({ type: 'interrupted', ...cut } satisfies RealtimeOutput));
    }
    if (responseId) {
      this.send({ type: 'response.cancel', event_id: this.eventId('cancel'), response_id: responseId });
      this.responses.drop(responseId);
    }
    if (playing || responseId) ctx.log.info({ heard: report, cuts, cancelled: responseId }, 'barge-in: the caller talked over the model');
  }

  private onItemAdded(item: Record<string, unknown> | undefined): void {
    const id = text(item, 'id');
    if (item?.type === 'function_call') {
      const callId = text(item, 'call_id');
      const name = text(item, 'name');
      if (callId && name) this.toolNames.set(callId, name);
    } else if (id && item?.type === 'message') this.responses.itemAdded(id);
  }

  private onResponseDone(response: Record<string, unknown> | undefined): void {
    const askNow = this.responses.done(text(response, 'id'));
    if (text(response, 'status') === 'failed') {
      const error = object(object(response, 'status_details'), 'error');
      const code = text(error, 'code') ?? text(error, 'type') ?? 'unknown';
      return this.fail(`a response failed (${code}): ${text(error, 'message') ?? 'no message'}`, { code, type: text(error, 'type') });
    }
    if (askNow) this.requestResponse();
  }

  private onError(error: Record<string, unknown> | undefined): void {
    const code = text(error, 'code');
    const message = text(error, 'message') ?? 'no message';
    const about = text(error, 'event_id');
    if ((about !== undefined && about.startsWith(OWN_EVENT)) || (code !== undefined && CROSSED.has(code))) {
      this.ctx!.log.warn({ code, message, about }, 'the model refused an event of the bridge; going on');
      if (code === 'conversation_already_has_active_response') this.responses.refused();
      return;
    }
    this.fail(`the model reported an error (${code ?? text(error, 'type') ?? 'unknown'}): ${message}`, { code, type: text(error, 'type'), about });
  }

  private transcript(role: 'user' | 'assistant', event: ServerEvent): void {
    const itemId = text(event, 'item_id') ?? '';
    const said = text(event, 'transcript');
    if (said === undefined) return;
    const heard = role === 'assistant' ? this.cutItems.get(itemId) : undefined;
    const output: RealtimeOutput = { type: 'transcript', role, itemId, text: said, ...(heard ? { heard } : {}) };
    this.ctx!.send(new AdditionalOutputs(output));
  }

  private async callTool(event: ServerEvent): Promise<void> {
    const ctx = this.ctx!;
    const callId = text(event, 'call_id');
    const name = text(event, 'name') ?? (callId ? this.toolNames.get(callId) : undefined);
    if (!callId || !name) {
      ctx.log.warn({ callId, name }, 'a function call without a call_id or name; ignored');
      return;
    }
    this.toolNames.delete(callId);
    const { args, output } = await runToolCall(this.options.onToolCall as ToolCallHook | undefined, name, text(event, 'arguments'), ctx);
    if (this.failed || this.ended) return;
    ctx.send(new AdditionalOutputs({ type: 'tool_call', name, callId, args, output } satisfies RealtimeOutput));
    this.send(functionOutput(callId, output));
    this.requestResponse();
  }

  /** Asks for a response now, or once the one in flight is done. */
  private requestResponse(response?: Record<string, unknown>): void {
    if (!this.responses.ask()) return;
    this.send({ type: 'response.create', event_id: this.eventId('response'), ...(response ? { response } : {}) });
  }

  /**
   * The model failed: the caller hears the fallback, then the session ends (its log line says why).
   * The model's socket is closed first; nothing more is sent to it.
   */
  private fail(reason: string, detail: Record<string, unknown>): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    const ctx = this.ctx!;
    ctx.log.warn({ reason, ...detail }, 'speech-to-speech model failed: the caller hears the fallback, then the session ends');
    this.socket?.close();
    const fallback = this.options.fallback ?? 'tone';
    if (fallback) ctx.send(fallback === 'tone' ? fallbackTone() : fallback);
    ctx.close(`The speech-to-speech model failed: ${reason}`);
  }

  private send(event: ClientEvent): void {
    this.socket?.send(event);
  }

  private eventId(kind: string): string {
    return `${OWN_EVENT}${kind}_${++this.eventSeq}`;
  }

  private remember(cut: HeardItem): void {
    this.cutItems.set(cut.itemId, cut);
    if (this.cutItems.size > 32) this.cutItems.delete(this.cutItems.keys().next().value!);
  }
}

/**
 * A handler that puts every session through to OpenAI's Realtime API (or a service speaking its
 * protocol), one WebSocket per session. Phone calls send and receive μ-law with no transcoding;
 * browsers and programs 24 kHz PCM (the session converts). When the caller talks over the model,
 * its audio stops at once and the model learns what the caller really heard (Twilio's marks on a
 * phone call, the playback clock elsewhere). Transcripts arrive as additional outputs; keys pressed
 * become conversation items; functions run through `onToolCall`. When the model fails, the caller
 * hears the fallback and the session ends.
 */
export function openaiRealtime<const Tools extends readonly RealtimeTool[] = readonly RealtimeTool[]>(options: OpenAIRealtimeOptions<Tools>): OpenAIRealtimeBridge {
  return new OpenAIRealtimeBridge(options as unknown as OpenAIRealtimeOptions);
}
