import { expect } from 'chai';
import { demoHandler, type DemoHandler } from '../../handlers/index.js';
import type { StreamOptions } from '../../src/options.js';
import type { AudioHandler } from '../../src/session/handler.js';
import { startTestServer, type TestServer } from './server.js';
import { decodeMulaw, mulawToneFrame, toneLevels } from './tones.js';
import type { TwilioMediaStream } from './twilio-call.js';
import { sleep, waitUntil } from './wait.js';
import { AudioSocket } from './ws-client.js';

/** The conference demo as `callstream serve` builds it from `env` (CALLSTREAM_ROOM_PIN), on a test server with `options` on top. */
export async function startConference(env: Record<string, string>, options: StreamOptions = {}): Promise<TestServer> {
  const saved = process.env.CALLSTREAM_ROOM_PIN;
  let demo: DemoHandler;
  try {
    if (env.CALLSTREAM_ROOM_PIN === undefined) delete process.env.CALLSTREAM_ROOM_PIN;
    else process.env.CALLSTREAM_ROOM_PIN = env.CALLSTREAM_ROOM_PIN;
    demo = demoHandler('conference');
  } finally {
    if (saved === undefined) delete process.env.CALLSTREAM_ROOM_PIN;
    else process.env.CALLSTREAM_ROOM_PIN = saved;
  }
  return startTestServer(demo.handler as AudioHandler, { ...demo.options, ...options, rooms: { ...demo.options.rooms, ...options.rooms } });
}

/** A program on the WebSocket transport that answers the Stream's inputs through the input hook. */
export class RoomProgram {
  private constructor(
    readonly socket: AudioSocket,
    private readonly server: TestServer,
    readonly id: string,
    private readonly secret: string,
  ) {}

  /** Starts a program session (μ-law 8 kHz both ways) and waits for the handler to ask for inputs. */
  static async start(server: TestServer, id: string): Promise<RoomProgram> {
    const socket = new AudioSocket(server.url);
    const started = await socket.start(id);
    const { secret } = started.session as { secret: string };
    await socket.next((m) => m.type === 'send_input');
    return new RoomProgram(socket, server, id, secret);
  }

  /** Posts inputs (`room`, `pin`) as FastRTC's input hook takes them. */
  async inputs(values: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${this.server.url}/input_hook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Callstream-Secret': this.secret },
      body: JSON.stringify({ websocket_id: this.id, ...values }),
    });
    expect(response.status, await response.clone().text()).to.equal(200);
  }

  /** Messages of a type so far. */
  messagesOf(type: string): Record<string, unknown>[] {
    return this.socket.messages.filter((m) => m.type === type);
  }

  /** Resolves once `count` messages of `type` arrived. */
  async waitForMessages(type: string, count: number): Promise<Record<string, unknown>[]> {
    await waitUntil(() => this.messagesOf(type).length >= count, 5000, `${count} ${type} message(s) at ${this.id}; got ${JSON.stringify(this.socket.messages.slice(-4))}`);
    return this.messagesOf(type);
  }

  /** Everything heard so far (μ-law decoded). */
  heard(): Int16Array {
    return decodeMulaw(this.socket.receivedAudio());
  }
}

/**
 * The loudest 80 ms window (every 20 ms) of `frequency` in `samples` (8 kHz): about half a tone's
 * amplitude where a tone of 100 ms or more was heard, near 0 where not (80 ms keeps other tones'
 * leakage below 1 %).
 */
export function peakLevel(samples: Int16Array, frequency: number): number {
  let peak = 0;
  for (let at = 0; at + 640 <= samples.length; at += 160) peak = Math.max(peak, toneLevels(samples.subarray(at, at + 640), 8000, [frequency])[frequency]!);
  return peak;
}

/** What a phone call heard since media index `from`, decoded. */
export function heardSince(call: TwilioMediaStream, from = 0): Int16Array {
  return decodeMulaw(Buffer.concat(call.media.slice(from).map((m) => m.bytes)));
}

/** Keys digits in, a DTMF event each, 100 ms apart. */
export async function keyIn(call: TwilioMediaStream, digits: string): Promise<void> {
  for (const digit of digits) {
    call.sendDtmf(digit);
    await sleep(100);
  }
}

/** Keeps sending a tone (20 ms frames, μ-law 8 kHz) through `send` until `stop()`. */
export function keepSending(send: (frame: Uint8Array) => void, frequency: number): { stop(): void } {
  let i = 0;
  const timer = setInterval(() => send(mulawToneFrame(frequency, i++)), 20);
  return { stop: () => clearInterval(timer) };
}
