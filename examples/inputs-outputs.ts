/**
 * Additional inputs and outputs: values beside the audio.
 *
 * Inputs are declared on the Stream; a client sets them (the built-in page renders them as controls,
 * programs POST them to /input_hook with the session's id and secret) and the handler reads the
 * latest values in `ctx.inputs`. Outputs are whatever the handler sends as `new AdditionalOutputs(...)`:
 * clients follow them as server-sent events on GET /outputs?webrtc_id=ID&secret=SECRET, folded into a
 * state by `additionalOutputsHandler`.
 *
 * Here: an echo with a volume knob, reporting the level it sends twice a second.
 *
 * Run it:  npx tsx examples/inputs-outputs.ts   then open http://localhost:8000/
 */
import Koa from 'koa';
import { AdditionalOutputs, listen, pcmFrame, type SessionContext, Stream } from 'callstream';

async function volumeKnob(ctx: SessionContext): Promise<void> {
  let frames = 0;
  let energy = 0;
  let samples = 0;
  for await (const frame of ctx.audio()) {
    if (frame.encoding !== 'pcm16') continue; // never happens with the inputFormat below
    const volume = Number(ctx.inputs.volume); // the latest value, whoever set it
    const out = frame.samples.map((s) => Math.max(-32768, Math.min(32767, Math.round(s * volume))));
    ctx.send(pcmFrame(out, frame.sampleRate));
    for (const s of out) energy += s * s;
    samples += out.length;
    if (++frames % 25 === 0) {
      const dbfs = Math.round(10 * Math.log10(energy / samples / 32768 ** 2 + 1e-10));
      ctx.send(new AdditionalOutputs(`${String(ctx.inputs.name)}: ${dbfs} dBFS at volume ${volume}`));
      energy = samples = 0;
    }
  }
}
volumeKnob.inputFormat = { encoding: 'pcm16', sampleRate: 16000 } as const;

const stream = new Stream(volumeKnob, {
  additionalInputs: [
    { name: 'volume', type: 'slider', minimum: 0, maximum: 2, step: 0.1, default: 1, label: 'Volume' },
    { name: 'name', type: 'text', default: 'caller', maxLength: 20, label: 'Your name' },
  ],
  additionalOutputs: [{ label: 'Levels', type: 'transcript' }],
  // The state clients see: the last five reports.
  additionalOutputsHandler: (previous, line) => [...((previous as string[] | undefined) ?? []), line].slice(-5),
});

const app = new Koa();
stream.mount(app);
await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000)); // logs the URL it listens on
