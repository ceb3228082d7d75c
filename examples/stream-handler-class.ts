/**
 * A stream handler written as a class: FastRTC's shape.
 *
 * The Stream makes one copy of the handler per session (`copy()`), calls `receive()` with each 20 ms
 * of the caller's audio, and awaits `emit()` in a loop for what to send back (when `emit()` returns
 * nothing, the loop waits for the next frame: it never spins).
 *
 * The effect: a robot voice by ring modulation. Every sample is multiplied by a 300 Hz sine wave, so
 * each frequency f of the voice becomes f - 300 and f + 300 Hz: metallic, and still understandable.
 *
 * Run it:  npx tsx examples/stream-handler-class.ts   then open http://localhost:8000/ and speak.
 */
import Koa from 'koa';
import { type AudioFrame, listen, pcmFrame, type StreamHandler, Stream } from 'callstream';

const CARRIER_HZ = 300;

class Robot implements StreamHandler {
  // What receive() gets: 16-bit PCM at 16 kHz, whatever the transport (phone, browser, WebSocket).
  readonly inputFormat = { encoding: 'pcm16', sampleRate: 16000 } as const;
  private phase = 0; // the carrier's phase, carried from frame to frame so that there is no click
  private readonly ready: AudioFrame[] = []; // processed frames waiting for emit()

  copy(): Robot {
    return new Robot(); // a fresh state per session
  }

  receive(frame: AudioFrame): void {
    if (frame.encoding !== 'pcm16') return; // never happens with the inputFormat above; tells TypeScript
    const step = (2 * Math.PI * CARRIER_HZ) / frame.sampleRate;
    const out = new Int16Array(frame.samples.length);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.round(frame.samples[i]! * Math.sin(this.phase));
      this.phase = (this.phase + step) % (2 * Math.PI);
    }
    this.ready.push(pcmFrame(out, frame.sampleRate));
  }

  emit(): AudioFrame | undefined {
    return this.ready.shift(); // (receive() could also send at once with ctx.send(frame))
  }
}

const app = new Koa();
new Stream(new Robot()).mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
