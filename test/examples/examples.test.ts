import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import { ROOT, TSX_LOADER } from '../support/cli.js';
import { spawnTestProcess, type TestProcess } from '../support/child-process.js';
import { FakeTranscribeServer } from '../support/fake-openai-transcribe.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { goertzel } from '../support/goertzel.js';
import { concatPcm, frames20, silence, speech } from '../support/speech.js';
import { EventReader } from '../support/sse.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { decodeClip, makeClip, planeMeans, VideoTestPeer } from '../support/video.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

const PUBLIC_URL = 'https://voice.example.test';
const AUTH_TOKEN = 'examples-auth-token-0123456789ab';
const PCM16K = { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 };

/** Examples started by the current test (killed after it). */
const running: Example[] = [];

/** A running example: its base URL (from the line listen() logs) and its stdout lines. */
interface Example {
  url: string;
  proc: TestProcess;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * Starts `examples/<name>.ts` as a user would (`node --import tsx`, from the repository, so tsx finds
 * tsconfig.json and its `paths` for `callstream`), on a free port, with none of this machine's
 * TWILIO_* or PUBLIC_URL; resolves once listen() logs its line.
 */
async function startExample(name: string, env: Record<string, string> = {}): Promise<Example> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(TWILIO_|PUBLIC_URL$|PORT$|HOST$|CALLSTREAM_|TSX_)/.test(key)),
  );
  const proc = spawnTestProcess(process.execPath, ['--import', TSX_LOADER, path.join('examples', `${name}.ts`)], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
  });
  const lines: string[] = [];
  let partial = '';
  const listeners = new Set<() => void>();
  proc.child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  const waitForLine = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const settle = (error?: string) => {
        listeners.delete(check);
        clearTimeout(timer);
        const line = lines.find((l) => pattern.test(l));
        if (line !== undefined) resolve(line);
        else reject(new Error(`examples/${name}.ts ${error}:\n${proc.output()}`));
      };
      const check = () => {
        if (lines.some((l) => pattern.test(l))) settle();
        else if (!proc.running()) settle(`exited before printing ${pattern}`);
      };
      const timer = setTimeout(() => settle(`printed no line matching ${pattern} within ${timeoutMs} ms`), timeoutMs);
      listeners.add(check);
      void proc.exited.then(check);
      check();
    });
  const example: Example = { url: '', proc, lines, waitForLine };
  running.push(example);
  // listen()'s line (a JSON log line here: stdout is a pipe).
  example.url = /listening on (http:\/\/[^\s"]+)/.exec(await waitForLine(/"msg":"listening on http:\/\//))![1]!;
  return example;
}

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sine wave. */
function sine(hz: number, ms: number, rate: number, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round((ms * rate) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Power of `hz` in `samples`, per sample (comparable across lengths). */
function power(samples: Int16Array, rate: number, hz: number): number {
  return goertzel(samples, 0, samples.length, hz, rate) / samples.length ** 2;
}

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

/**
 * Which of the 20 ms `frames` a client sent are in `window`, sample for sample (frames reach a handler
 * whole, or not at all when a busy handler drops them); silent frames are never found.
 */
function framesIn(frames: Int16Array[], window: Int16Array): Set<number> {
  const key = (samples: Int16Array, at: number) => samples.subarray(at, at + 8).join(',');
  const byKey = new Map<string, number[]>();
  frames.forEach((frame, i) => {
    if (frame.every((v) => v === 0)) return;
    byKey.set(key(frame, 0), [...(byKey.get(key(frame, 0)) ?? []), i]);
  });
  const found = new Set<number>();
  for (let at = 0; at + 320 <= window.length; at++) {
    for (const i of byKey.get(key(window, at)) ?? []) if (frames[i]!.every((v, k) => window[at + k] === v)) found.add(i);
  }
  return found;
}

/** Little-endian PCM bytes to samples, and back. */
const toSamples = (bytes: Buffer) => new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length - (bytes.length % 2)));
const toBytes = (samples: Int16Array) => new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);

/** Closed after each test, last opened first. */
const closers: (() => unknown)[] = [];

/** Plays Twilio calling `path` of an example: the signed webhook, then the signed media stream. */
async function dial(example: Example, webhookPath: string): Promise<TwilioMediaStream> {
  const callSid = sid('CA');
  const hook = await postWebhook({ baseUrl: example.url, publicUrl: PUBLIC_URL, webhookPath, authToken: AUTH_TOKEN, params: { CallSid: callSid } });
  expect(hook.status, hook.body).to.equal(200);
  const call = new TwilioMediaStream({ baseUrl: example.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
  closers.push(() => call.close());
  await call.begin(hook.parameters);
  return call;
}

/**
 * What a phone caller heard, cut into bursts where nothing arrived for 500 ms (the server sends no
 * audio between replies): each burst's audio, as 8 kHz PCM.
 */
function bursts(call: TwilioMediaStream): Int16Array[] {
  const out: Buffer[][] = [];
  let last = -Infinity;
  for (const { bytes, at } of call.media) {
    if (at - last > 500) out.push([]);
    out.at(-1)!.push(bytes);
    last = at;
  }
  return out.map((parts) => mulawDecode(Buffer.concat(parts)));
}

const PHONE_ENV = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL };

describe('examples/: each program type-checked, started as a child process and driven by a real client', function () {
  this.timeout(30_000);

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    for (const example of running.splice(0)) await example.proc.stop('SIGKILL');
  });

  it('type-check with examples/tsconfig.json (callstream resolved by name to the sources)', async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', 'examples/tsconfig.json', '--noEmit'], { cwd: ROOT }).catch(
      (error: { stdout: string; stderr: string }) => ({ stdout: error.stdout, stderr: error.stderr, failed: true }),
    );
    expect('failed' in result, `tsc found errors:\n${result.stdout}${result.stderr}`).to.equal(false);
  });

  it('mount-on-koa: the app keeps its routes, and a signed phone call to /voice hears its echo', async () => {
    const example = await startExample('mount-on-koa', PHONE_ENV);
    expect(await (await fetch(`${example.url}/health`)).json()).to.deep.equal({ ok: true });
    expect(await (await fetch(`${example.url}/`)).text()).to.match(/^My shop/);
    expect((await fetch(`${example.url}/voice/status`)).status, 'the Stream answers under /voice').to.equal(200);
    // TWILIO_AUTH_TOKEN from the environment: an unsigned webhook is refused.
    const forged = await postWebhook({ baseUrl: example.url, publicUrl: PUBLIC_URL, webhookPath: '/voice/telephone/incoming', signWith: false, params: { CallSid: sid('CA') } });
    expect(forged.status).to.equal(403);

    const call = await dial(example, '/voice/telephone/incoming');
    const tone = sine(1000, 500, 8000);
    const frames = frames20(tone, 8000);
    await sendPaced(frames.length, (i) => call.sendMedia(mulawEncode(frames[i]!)), 2);
    await call.waitFor(() => call.receivedAudio().length >= 0.8 * tone.length, 5000, 'the echo');
    const heard = mulawDecode(call.receivedAudio());
    expect(rms(heard)).to.be.above(3000);
    expect(power(heard, 8000, 1000), 'the caller hears its own 1 kHz tone back').to.be.above(100 * power(heard, 8000, 1300));
  });

  it('stream-handler-class: a WebSocket client hears the robot (1 kHz in, 700 and 1300 Hz out, nothing left at 1 kHz)', async () => {
    const example = await startExample('stream-handler-class');
    const client = new AudioSocket(example.url);
    closers.push(() => client.close());
    expect((await client.start('robot', { mediaFormat: PCM16K })).event).to.equal('started');
    const frames = frames20(sine(1000, 1000, 16000), 16000);
    await sendPaced(frames.length, (i) => client.sendMedia(toBytes(frames[i]!)), 2);
    await client.next(() => client.receivedAudio().length >= 40 * 640, 5000);
    const heard = toSamples(client.receivedAudio());
    expect(rms(heard)).to.be.above(2000);
    const at1000 = power(heard, 16000, 1000);
    expect(power(heard, 16000, 700), 'the lower sideband').to.be.above(50 * at1000);
    expect(power(heard, 16000, 1300), 'the upper sideband').to.be.above(50 * at1000);
  });

  it('session-function: a phone caller hears a tone burst again, byte for byte, a second after sending it', async () => {
    const example = await startExample('session-function', PHONE_ENV);
    const call = await dial(example, '/telephone/incoming');
    const quiet = new Uint8Array(160).fill(0xff); // μ-law silence
    const burst = frames20(sine(1000, 200, 8000), 8000).map((f) => mulawEncode(f));
    let burstSentAt = 0;
    // Like Twilio: a frame every 20 ms, the burst from 200 ms in, then silence long enough to push it out.
    await sendPaced(90, (i) => {
      if (i === 10) burstSentAt = performance.now();
      call.sendMedia(i >= 10 && i < 20 ? burst[i - 10]! : quiet);
    });
    const expected = Buffer.concat(burst);
    await call.waitFor(() => call.receivedAudio().includes(expected), 3000, 'the burst');
    const first = call.media.find((m) => m.bytes.equals(burst[0]!))!;
    expect(first.at - burstSentAt, 'heard a second later').to.be.within(950, 2500);
  });

  it('reply-on-pause: a phone caller hears a beep after each turn, as long as what they said', async () => {
    const example = await startExample('reply-on-pause', PHONE_ENV);
    const call = await dial(example, '/telephone/incoming');
    const say = async (pcm: Int16Array) => {
      const frames = frames20(concatPcm(silence(200, 8000), pcm, silence(900, 8000)), 8000);
      await sendPaced(frames.length, (i) => call.sendMedia(mulawEncode(frames[i]!)), 2);
    };
    // The beeps heard (ms), each checked to be a 440 Hz tone.
    const beeps = () =>
      bursts(call).map((pcm) => {
        // A pure tone's power per sample is rms²/2: at least half of it at 440 Hz.
        expect(power(pcm, 8000, 440), 'a 440 Hz beep').to.be.above(0.5 * (rms(pcm) ** 2 / 2));
        return pcm.length / 8;
      });
    /** Waits for `count` beeps, the last one whole (nothing more arrives for 300 ms). */
    const beepsPlayed = async (count: number) => {
      let length = -1;
      let since = performance.now();
      await waitUntil(() => {
        const now = call.receivedAudio().length;
        if (now !== length) [length, since] = [now, performance.now()];
        return beeps().length === count && performance.now() - since > 300;
      }, 8000, `beep ${count}, whole`).catch((error: Error) => {
        throw new Error(`${error.message}: beeps so far ${JSON.stringify(beeps())}`);
      });
    };
    const short = speech('Hello there', 8000);
    const long = speech('I would like a table for four people tonight, by the window please', 8000);
    await say(short);
    await beepsPlayed(1);
    await say(long);
    await beepsPlayed(2);
    const [first, second] = beeps();
    const spoken = (pcm: Int16Array) => pcm.length / 8;
    // The VAD's speech time runs a little under the fixture's length (measured: 680 ms for 724, 3520 for 3744).
    expect(first, `beeps ${JSON.stringify(beeps())}, speech ${spoken(short)} ms`).to.be.within(0.75 * spoken(short), 1.15 * spoken(short) + 60);
    expect(second, `beeps ${JSON.stringify(beeps())}, speech ${spoken(long)} ms`).to.be.within(0.75 * spoken(long), 1.15 * spoken(long) + 60);
  });

  it('reply-on-stop-words: a WebSocket client gets one beep, for what it said after "computer", transcribed by the (fake) OpenAI API', async () => {
    // The fake API "hears" a phrase when a window holds 80 % of it: windows are found in the audio sent (16 kHz PCM, passed through unchanged).
    const phrases = [
      { text: 'Hello there.', pcm: speech('Hello there', 16000) },
      { text: 'Computer.', pcm: speech('Computer', 16000) },
      { text: 'What time is it?', pcm: speech('What time is it', 16000) },
    ];
    const parts = [silence(300, 16000), phrases[0]!.pcm, silence(1200, 16000), phrases[1]!.pcm, silence(1200, 16000), phrases[2]!.pcm, silence(1500, 16000)];
    const frames = frames20(concatPcm(...parts), 16000);
    const firstFrame = (part: number) => parts.slice(0, part).reduce((n, p) => n + p.length, 0) / 320;
    const spans = phrases.map((phrase, i) => ({ text: phrase.text, first: Math.ceil(firstFrame(2 * i + 1)), last: Math.floor(firstFrame(2 * i + 2)) - 1 }));
    const fake = await FakeTranscribeServer.start({
      transcript: ({ samples }) => {
        const found = framesIn(frames, samples);
        const inWindow = (span: (typeof spans)[number]) => [...found].filter((i) => i >= span.first && i <= span.last).length;
        return spans.filter((span) => inWindow(span) >= 0.8 * (span.last - span.first + 1)).map((span) => span.text).join(' ');
      },
    });
    closers.push(() => fake.close());
    const example = await startExample('reply-on-stop-words', { OPENAI_API_KEY: fake.apiKeyExpected, OPENAI_BASE_URL: fake.baseURL });
    const client = new AudioSocket(example.url);
    closers.push(() => client.close());
    await client.start('wake', { mediaFormat: PCM16K });
    await sendPaced(frames.length, (i) => client.sendMedia(toBytes(frames[i]!)), 2);
    await client.next((m) => m.event === 'media', 15000);
    await waitUntil(() => client.media.length > 0 && performance.now() - client.media.at(-1)!.at > 400, 5000, 'the beep, whole');
    expect(fake.requests.length, 'the windows were transcribed').to.be.at.least(2);
    expect(fake.requests.every((r) => r.sampleRate === 16000 && framesIn(frames, r.samples).size > 0), 'each window is audio the client sent').to.equal(true);
    const stopword = client.messages.findIndex((m) => m.type === 'stopword');
    expect(client.messages[stopword]).to.deep.equal({ type: 'stopword', data: 'computer' });
    expect(client.messages.findIndex((m) => m.event === 'media'), 'no beep before the stop word').to.be.above(stopword);
    const beep = toSamples(client.receivedAudio());
    expect(power(beep, 16000, 660), 'a 660 Hz beep').to.be.above(0.5 * (rms(beep) ** 2 / 2));
    const question = phrases[2]!.pcm.length / 16;
    expect(beep.length / 16, 'one beep, as long as the question (not the greeting too)').to.be.within(0.6 * question, 1.15 * question + 60);
  });

  it('inputs-outputs: the input hook turns the volume down, and the outputs SSE reports the new level', async () => {
    const example = await startExample('inputs-outputs');
    const client = new AudioSocket(example.url);
    closers.push(() => client.close());
    const started = await client.start('knob', { mediaFormat: PCM16K });
    const { id, secret } = started.session as { id: string; secret: string };
    const hook = (body: Record<string, unknown>) =>
      fetch(`${example.url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Callstream-Secret': secret }, body: JSON.stringify({ webrtc_id: id, ...body }) });
    const outputs = new EventReader(`${example.url}/outputs?webrtc_id=${id}&secret=${secret}`);
    closers.push(() => outputs.close());
    await outputs.until(() => outputs.status === 200);

    expect((await hook({ volume: 5 })).status, 'beyond the slider: refused').to.equal(422);
    expect((await hook({ volume: 0.5, name: 'Ada' })).status).to.equal(200);
    const frames = frames20(sine(1000, 1200, 16000, 8000), 16000);
    await sendPaced(frames.length, (i) => client.sendMedia(toBytes(frames[i]!)), 2);
    await client.next(() => client.receivedAudio().length >= 50 * 640, 5000);
    expect(rms(toSamples(client.receivedAudio())) / rms(frames[0]!), 'half the volume').to.be.closeTo(0.5, 0.03);
    // An 8000-peak sine at half volume: 20·log10(2828 / 32768) = -21 dBFS.
    await outputs.until(() => outputs.events.length >= 2);
    expect(outputs.events[0]).to.deep.equal({ event: 'output', data: { values: ['Ada: -21 dBFS at volume 0.5'], state: ['Ada: -21 dBFS at volume 0.5'] } });
    expect((outputs.events[1]!.data as { state: string[] }).state).to.have.length(2);
  });

  it('outbound-call: places the call through the (fake) Twilio API, echoes the callee, prints its statuses, and Ctrl-C hangs up', async () => {
    const api = await FakeTwilioApi.start();
    closers.push(() => api.close());
    const example = await startExample('outbound-call', { ...api.env(), PUBLIC_URL, TO: '+15550002222', FROM: '+15550001111' });
    api.calls.reach(PUBLIC_URL, { baseUrl: example.url });
    const callSid = /: (CA[0-9a-f]{32})$/.exec(await example.waitForLine(/^Calling \+15550002222 from \+15550001111: CA/))![1]!;
    const callee = await api.calls.next();
    expect(callee.sid).to.equal(callSid);
    expect(callee.form).to.deep.include({ To: '+15550002222', From: '+15550001111', Url: `${PUBLIC_URL}/telephone/incoming`, Timeout: '30' });

    const media = await callee.answer();
    const frames = Array.from({ length: 10 }, (_, i) => Buffer.alloc(160, 0x40 + i));
    for (const frame of frames) media.sendMedia(frame);
    await media.waitFor(() => media.receivedAudio().length >= 1600, 5000, 'the echo');
    expect(media.receivedAudio().subarray(0, 1600).equals(Buffer.concat(frames))).to.equal(true);

    example.proc.child.kill('SIGINT');
    await within(example.proc.exited, 8000, `the example to exit after SIGINT (it hangs up, then ends with the call):\n${example.proc.output()}`);
    expect(example.proc.child.exitCode, example.proc.output()).to.equal(0);
    expect(callee.updates.map((u) => u.form)).to.deep.equal([{ Status: 'completed' }]);
    expect(example.lines).to.include.members(['  status initiated', '  status ringing', '  status in-progress', 'Hanging up...', `Call ${callSid} ended: completed`]);
  });

  it('rooms-handoff: a caller hears hold music until a WebSocket agent joins, then each hears the other (never itself), and the call ends when the agent leaves', async () => {
    const example = await startExample('rooms-handoff', PHONE_ENV);
    const call = await dial(example, '/telephone/incoming');
    await call.waitFor(() => rms(mulawDecode(call.receivedAudio())) > 500, 5000, 'the hold music');

    const agent = new AudioSocket(example.url);
    closers.push(() => agent.close());
    expect((await agent.start('agent', { mediaFormat: PCM16K })).event).to.equal('started');
    // 2.4 s each way: longer than the hold music's 2 s period, so music still playing would show.
    const callerTone = frames20(sine(600, 2400, 8000), 8000).map((f) => mulawEncode(f));
    const agentTone = frames20(sine(1000, 2400, 16000), 16000);
    const callerHeardBefore = call.receivedAudio().length;
    const agentHeardBefore = agent.receivedAudio().length;
    await sendPaced(callerTone.length, (i) => {
      call.sendMedia(callerTone[i]!);
      agent.sendMedia(toBytes(agentTone[i]!));
    });
    // Each side hears the other's tone, loud, and nothing of its own; the caller no hold music.
    const atCaller = mulawDecode(call.receivedAudio().subarray(callerHeardBefore)).slice(2400);
    const atAgent = toSamples(agent.receivedAudio().subarray(agentHeardBefore)).slice(-9600);
    expect(power(atCaller, 8000, 1000), 'the caller hears the agent').to.be.above(100 * power(atCaller, 8000, 600));
    expect(power(atCaller, 8000, 440), 'the hold music stopped when the agent came').to.be.below(power(atCaller, 8000, 1000) / 1000);
    expect(rms(atCaller.slice(-4800))).to.be.above(2000);
    expect(power(atAgent, 16000, 600), 'the agent hears the caller').to.be.above(100 * power(atAgent, 16000, 1000));
    expect(rms(atAgent)).to.be.above(2000);

    agent.close();
    const closed = await within(call.closed, 5000, 'the call to end after the agent left');
    expect(closed.code, closed.reason).to.equal(1000);
  });

  it('video: a werift peer sending red gets black and white back, with the white square in its corner', async function () {
    this.timeout(40_000);
    const example = await startExample('video');
    const peer = new VideoTestPeer(example.url, 'bw');
    closers.push(() => peer.close());
    const answer = await peer.connect();
    expect(answer.sdp as string).to.match(/^m=video /m);
    const [width, height] = [320, 240];
    const clip = makeClip({ width, height, frames: 15, color: 'red' });
    const original = planeMeans(decodeClip(clip.slice(0, 1), width, height)[0]!, width, height);
    expect(original[2], 'red has a strong V').to.be.above(200);
    await peer.play(clip, 45);
    await waitUntil(() => peer.receivedFrames.length >= 10, 10_000, 'returned frames');
    const first = peer.receivedFrames.findIndex((f) => f.isKeyframe);
    expect(first).to.be.at.least(0);
    const returned = decodeClip(peer.receivedFrames.slice(first).map((f) => f.data), width, height).at(-1)!;
    const [, u, v] = planeMeans(returned, width, height);
    expect(u).to.be.closeTo(128, 4);
    expect(v).to.be.closeTo(128, 4);
    let corner = 0;
    for (let row = 12; row < 36; row++) for (let col = 12; col < 36; col++) corner += returned[row * width + col]!;
    expect(corner / 24 ** 2, 'the white square').to.be.above(200);
  });
});
