import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { demoHandler, FALLBACK_TONE_HZ, openaiRealtime, type OpenAIRealtimeOptions, type RealtimeOutput } from '../../handlers/index.js';
import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import { isCallstreamError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { AudioHandler } from '../../src/session/handler.js';
import type { StreamOptions } from '../../src/options.js';
import type { Session } from '../../src/session/session.js';
import type { StopInfo } from '../../src/session/types.js';
import { FakeRealtimeServer, type FakeRealtimeOptions } from '../support/fake-realtime.js';
import { goertzel } from '../support/goertzel.js';
import { dialTestServer, sleep, startTestServer, type TestServer } from '../support/server.js';
import type { TwilioMediaStream } from '../support/twilio-call.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';
import { AudioSocket } from '../support/ws-client.js';

const KEY = 'sk-test-0123456789';

function tone(ms: number, rate: number, frequency: number, amplitude = 8000): Int16Array {
  const samples = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
  return samples;
}

function pcmBytes(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** How strongly `frequency` stands out in `samples` against a frequency far from it (ratio of powers). */
function prominence(samples: Int16Array, rate: number, frequency: number, against = 1500): number {
  return goertzel(samples, 0, samples.length, frequency, rate) / (goertzel(samples, 0, samples.length, against, rate) + 1);
}

/**
 * What a Twilio caller has heard at `at` (ms of audio), replaying the test client's own playout
 * model: each media message plays after the previous one, from when it arrived. Its marks come back
 * from the same model, so this is what the caller's marks say, to the millisecond.
 */
function heardByCaller(call: TwilioMediaStream, at: number): number {
  let bufferEnd = 0;
  let total = 0;
  for (const media of call.media) {
    if (media.at > at) break;
    bufferEnd = Math.max(media.at, bufferEnd) + media.bytes.length / 8;
    total += media.bytes.length / 8;
  }
  return total - Math.max(0, bufferEnd - at);
}

describe('openaiRealtime: a speech-to-speech model behind every transport', function () {
  this.timeout(30000);
  let server: TestServer | undefined;
  let fake: FakeRealtimeServer | undefined;
  const sessions: Session[] = [];
  const logs: Record<string, unknown>[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  before(() => process.on('unhandledRejection', onRejection));
  after(() => process.off('unhandledRejection', onRejection));

  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (fake) {
      // Every model socket is closed by its session: none is left open once the server is closed.
      await waitUntil(() => fake!.openSockets === 0, 3000, 'the bridge to close its model sockets');
      await fake.close();
    }
    fake = undefined;
    sessions.length = 0;
    logs.length = 0;
    expect(rejections, 'unhandled rejections').to.deep.equal([]);
  });

  async function start(options: Partial<OpenAIRealtimeOptions> = {}, fakeOptions: FakeRealtimeOptions = {}, streamOptions: StreamOptions = {}): Promise<TestServer> {
    fake = await FakeRealtimeServer.start({ apiKey: KEY, ...fakeOptions });
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
    server = await startTestServer(openaiRealtime({ apiKey: KEY, url: fake.url, ...options }), { logger, ...streamOptions });
    server.stream.on('session', (session) => sessions.push(session));
    return server;
  }

  /** Closes this test's servers, to start others in the same test. */
  async function restart(): Promise<void> {
    await server!.close();
    await waitUntil(() => fake!.openSockets === 0, 3000, 'the bridge to close its model sockets');
    await fake!.close();
    sessions.length = 0;
    logs.length = 0;
  }

  function outputs(session: Session): RealtimeOutput[] {
    const seen: RealtimeOutput[] = [];
    session.on('output', (out) => seen.push(out.args[0] as RealtimeOutput));
    return seen;
  }

  describe('on a phone call', () => {
    it('speaks μ-law both ways with no transcoding: the model gets the caller\'s bytes, the caller the model\'s', async () => {
      await start({ instructions: 'Be brief.', voice: 'marin' });
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      expect(model.headers.authorization).to.equal(`Bearer ${KEY}`);
      expect(model.url.searchParams.get('model')).to.equal('gpt-realtime');
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      const session = model.sent('session.update')[0]!.session as Record<string, any>;
      expect(session.type).to.equal('realtime');
      expect(session.audio.input.format).to.deep.equal({ type: 'audio/pcmu' });
      expect(session.audio.output.format).to.deep.equal({ type: 'audio/pcmu' });
      expect(session.audio.output.voice).to.equal('marin');
      expect(session.audio.input.transcription).to.deep.equal({ model: 'gpt-4o-mini-transcribe' });
      expect(session.instructions).to.equal('Be brief.');

      const said = randomBytes(160 * 25);
      await sendPaced(25, (i) => call.sendMedia(said.subarray(i * 160, (i + 1) * 160)), 4);
      await model.waitFor(() => model.audioIn().length >= said.length, 3000, 'the caller\'s audio');
      expect(model.audioIn().equals(said)).to.equal(true);

      const reply = randomBytes(8000); // 1 s
      model.speak(reply);
      await call.waitFor(() => call.receivedAudio().length >= reply.length, 5000, 'the model\'s audio');
      expect(call.receivedAudio().equals(reply)).to.equal(true);

      call.sendStop();
      await model.closed;
      expect((await sessions[0]!.ended).reason).to.equal('remote_stop');
    });

    it('barge-in: stops the caller\'s audio at once, truncates the item at what the caller heard (within a frame), cancels the response', async () => {
      await start();
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      let clearAt = 0;
      call.ws.on('message', (data) => {
        if (!clearAt && (JSON.parse(String(data)) as { event?: string }).event === 'clear') clearAt = performance.now();
      });
      const audio = mulawEncode(tone(3000, 8000, 440));
      const { responseId, itemId } = model.speak(audio, { keepOpen: true });
      await call.waitFor(() => call.media.length > 0, 3000, 'the first audio');
      const firstAt = call.media[0]!.at;
      await waitUntil(() => performance.now() - firstAt >= 1100, 3000, '1.1 s of playback');
      const speechAt = performance.now();
      model.speechStarted();
      // Audio the model had already produced keeps coming for a moment: it must not be played.
      model.speakMore(responseId, itemId, mulawEncode(tone(500, 8000, 440)));
      await model.waitFor(() => model.sent('conversation.item.truncate').length === 1 && model.sent('response.cancel').length === 1, 3000, 'truncate and cancel');
      await call.waitFor(() => clearAt > 0, 3000, 'clear');
      const truncate = model.sent('conversation.item.truncate')[0]!;
      expect(truncate.item_id).to.equal(itemId);
      expect(truncate.content_index).to.equal(0);
      // The bridge cut the audio somewhere between the model's speech_started and the clear reaching the
      // caller (a millisecond apart on an idle machine; more when this process is starved).
      const [earliest, latest] = [heardByCaller(call, speechAt), heardByCaller(call, clearAt)];
      expect(earliest).to.be.within(900, 1400);
      const end = truncate.audio_end_ms as number;
      expect(end, `the caller heard ${earliest.toFixed(1)}-${latest.toFixed(1)} ms`).to.be.within(earliest - 20, latest + 20);
      expect(model.sent('response.cancel')[0]!.response_id).to.equal(responseId);
      await sleep(300);
      expect(call.media.filter((m) => m.at > clearAt), 'audio after the clear').to.deep.equal([]);
      expect(model.isOpen, 'the bridge goes on after a barge-in').to.equal(true);
      expect(logs.some((l) => l.msg === 'speech-to-speech model failed: the caller hears the fallback, then the session ends')).to.equal(false);
      call.close();
    });

    it('forwards keys pressed as conversation items and asks for a response', async () => {
      await start();
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      call.sendDtmf('5');
      await model.waitFor(() => model.sent('response.create').length === 1, 3000, 'response.create');
      const item = model.sent('conversation.item.create')[0]!.item as { type: string; role: string; content: { type: string; text: string }[] };
      expect(item).to.include({ type: 'message', role: 'user' });
      expect(item.content[0]!.type).to.equal('input_text');
      expect(item.content[0]!.text).to.contain('5');
      call.close();
    });

    it('runs tools through onToolCall and gives the model the result, then a response', async () => {
      const calls: { name: string; args: unknown; sessionId: string }[] = [];
      await start({
        tools: [{ type: 'function', name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
        onToolCall: async (name, args, ctx) => {
          calls.push({ name, args, sessionId: ctx.id });
          if ((args as { city?: string }).city === 'Atlantis') throw new Error('no such city');
          return { temperatureC: 21 };
        },
      });
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      const session = model.sent('session.update')[0]!.session as { tools: { name: string }[]; tool_choice: string };
      expect(session.tools.map((t) => t.name)).to.deep.equal(['get_weather']);
      expect(session.tool_choice).to.equal('auto');

      const { callId } = model.callFunction('get_weather', { city: 'Paris' });
      await model.waitFor(() => model.sent('response.create').length === 1, 3000, 'response.create after the output');
      const output = model.sent('conversation.item.create')[0]!.item as Record<string, unknown>;
      expect(output).to.deep.equal({ type: 'function_call_output', call_id: callId, output: '{"temperatureC":21}' });
      expect(calls).to.deep.equal([{ name: 'get_weather', args: { city: 'Paris' }, sessionId: sessions[0]!.id }]);

      const failing = model.callFunction('get_weather', { city: 'Atlantis' });
      await model.waitFor(() => model.sent('response.create').length === 2, 3000, 'a response after a failed call');
      const error = model.sent('conversation.item.create')[1]!.item as { call_id: string; output: string };
      expect(error.call_id).to.equal(failing.callId);
      expect(JSON.parse(error.output)).to.deep.equal({ error: 'no such city' });
      expect(call.isOpen, 'a failing tool does not end the call').to.equal(true);
      call.close();
    });

    it('gives transcripts as outputs, and says what was heard of a cut item', async () => {
      await start();
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      const seen = outputs(sessions[0]!);
      model.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_user1', content_index: 0, transcript: 'What time is it?' });
      const { itemId } = model.speak(mulawEncode(tone(2000, 8000, 440)), { keepOpen: true });
      await call.waitFor(() => call.receivedAudio().length >= 4000, 3000, 'half a second of audio');
      model.speechStarted();
      model.send({ type: 'response.output_audio_transcript.done', item_id: itemId, response_id: 'r', output_index: 0, content_index: 0, transcript: 'It is noon, and the weather is fine.' });
      await waitUntil(() => seen.length >= 3, 3000, 'three outputs');
      expect(seen[0]).to.deep.equal({ type: 'transcript', role: 'user', itemId: 'item_user1', text: 'What time is it?' });
      expect(seen[1]).to.include({ type: 'interrupted', itemId });
      const assistant = seen[2] as Extract<RealtimeOutput, { type: 'transcript' }>;
      expect(assistant).to.include({ type: 'transcript', role: 'assistant', itemId, text: 'It is noon, and the weather is fine.' });
      expect(assistant.heard!.heardMs).to.be.below(assistant.heard!.sentMs);
      call.close();
    });

    it('speaks the beta protocol when asked (beta session shape, header and event names)', async () => {
      await start({ protocol: 'beta' }, { names: 'beta' });
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      expect(model.headers['openai-beta']).to.equal('realtime=v1');
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      expect(model.sent('session.update')[0]!.session).to.include({ input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' });
      const reply = randomBytes(1600);
      model.speak(reply);
      await call.waitFor(() => call.receivedAudio().length >= reply.length, 3000, 'the model\'s audio');
      expect(call.receivedAudio().equals(reply)).to.equal(true);
      call.close();
    });

    it('asks for a first response when given a greeting', async () => {
      await start({ greeting: 'Greet the caller.' });
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      await model.waitFor(() => model.sent('response.create').length === 1, 3000, 'response.create');
      expect(model.sent('response.create')[0]!.response).to.deep.equal({ instructions: 'Greet the caller.' });
      expect(model.events.findIndex((e) => e.type === 'session.update')).to.be.below(model.events.findIndex((e) => e.type === 'response.create'));
      call.close();
    });
  });

  describe('when the model fails, the caller hears the fallback and the call ends cleanly', () => {
    /** Waits for the call to end; checks the fallback tone was played and the reason logged. */
    async function endsWithFallback(call: TwilioMediaStream, reason: RegExp): Promise<StopInfo> {
      const closed = await call.closed;
      expect(closed.code).to.equal(1000);
      const stop = await sessions[0]!.ended;
      expect(stop.reason).to.equal('handler_closed');
      expect(stop.message).to.match(reason);
      const failure = logs.find((l) => l.msg === 'speech-to-speech model failed: the caller hears the fallback, then the session ends');
      expect(failure?.reason, 'the logged reason').to.match(reason);
      const heard = mulawDecode(call.receivedAudio());
      expect(heard.length / 8, 'ms of fallback').to.be.at.least(1000);
      expect(prominence(heard, 8000, FALLBACK_TONE_HZ[0])).to.be.above(50);
      expect(prominence(heard, 8000, FALLBACK_TONE_HZ[1])).to.be.above(50);
      return stop;
    }

    it('the model closes its socket', async () => {
      await start();
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      model.ws.close(1011, 'internal error');
      await endsWithFallback(call, /closed the connection \(1011: internal error\)/);
    });

    it('the model sends an error event', async () => {
      await start();
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      model.error('server_error', 'server_error', 'The server had an error while processing your request.');
      await endsWithFallback(call, /error \(server_error\): The server had an error/);
      await model.closed; // the bridge closed its socket
    });

    it('a bad key: 401 at connect', async () => {
      await start({ apiKey: 'sk-wrong' });
      const call = await dialTestServer(server!);
      await endsWithFallback(call, /refused the connection: HTTP 401/);
      expect(fake!.refused).to.deep.equal([401]);
    });

    it('a rate limit: 429 at connect, an error event, a failed response', async () => {
      await start({}, { refuseWith: 429 });
      const refused = await dialTestServer(server!);
      await endsWithFallback(refused, /HTTP 429/);
      await restart();

      await start();
      const limited = await dialTestServer(server!);
      const model = await fake!.connection();
      model.error('rate_limit_error', 'rate_limit_exceeded', 'Rate limit reached for requests.');
      await endsWithFallback(limited, /rate_limit_exceeded/);
      await restart();

      await start();
      const failing = await dialTestServer(server!);
      const second = await fake!.connection();
      second.startResponse('resp_limited');
      second.endResponse('resp_limited', 'failed', { type: 'failed', error: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached.' } });
      await endsWithFallback(failing, /response failed \(rate_limit_exceeded\)/);
    });

    it('a custom fallback (a recorded prompt) is played instead of the tone', async () => {
      const prompt = tone(800, 16000, 1000);
      await start({ fallback: { encoding: 'pcm16', sampleRate: 16000, samples: prompt } });
      const call = await dialTestServer(server!);
      const model = await fake!.connection();
      model.ws.terminate();
      await call.closed;
      const heard = mulawDecode(call.receivedAudio());
      expect(heard.length / 8).to.be.within(780, 840);
      expect(prominence(heard, 8000, 1000, 480)).to.be.above(50);
    });
  });

  describe('on other transports: 24 kHz PCM, resampled by the session', () => {
    it('a browser (WebRTC, Opus): PCM 24 kHz both ways, and a barge-in truncated at what the playback clock says', async () => {
      await start();
      const peer = new TestPeer(server!.url, 'rt-peer');
      try {
        await peer.connect();
        const model = await fake!.connection();
        await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
        const session = model.sent('session.update')[0]!.session as Record<string, any>;
        expect(session.audio.input.format).to.deep.equal({ type: 'audio/pcm', rate: 24000 });
        expect(session.audio.output.format).to.deep.equal({ type: 'audio/pcm', rate: 24000 });

        const said = tone(1000, 48000, 440);
        await sendPaced(50, (i) => peer.sendFrame(said.subarray(i * 960, (i + 1) * 960)));
        await model.waitFor(() => model.audioIn().length >= 0.9 * 48000, 3000, 'a second of caller audio');
        const heardByModel = new Int16Array(new Uint8Array(model.audioIn()).buffer);
        expect(heardByModel.length / 24, 'ms at 24 kHz').to.be.within(900, 1100);
        expect(prominence(heardByModel, 24000, 440)).to.be.above(50);

        const { itemId } = model.speak(pcmBytes(tone(3000, 24000, 660)), { keepOpen: true });
        await waitUntil(() => peer.received.length >= 50, 5000, 'a second of model audio');
        const receivedAt = peer.received.length * 20;
        model.speechStarted();
        await model.waitFor(() => model.sent('conversation.item.truncate').length === 1, 3000, 'truncate');
        const truncate = model.sent('conversation.item.truncate')[0]!;
        expect(truncate.item_id).to.equal(itemId);
        // The clock says what was played: what the peer got, less the little WebRTC keeps ahead.
        expect(truncate.audio_end_ms as number).to.be.within(receivedAt - 60, receivedAt + 60);
        const decoded = peer.received.slice(10, 40).map((p) => peer.opus.decode(p.payload));
        const pcm = new Int16Array(decoded.reduce((n, d) => n + d.length, 0));
        decoded.reduce((offset, d) => (pcm.set(d, offset), offset + d.length), 0);
        expect(prominence(pcm, 48000, 660)).to.be.above(50);
      } finally {
        await peer.close();
      }
    });

    it('a program (WebSocket, 16 kHz PCM): PCM 24 kHz to the model; μ-law 8 kHz clients stay untouched', async () => {
      await start();
      const wideband = new AudioSocket(server!.url);
      try {
        await wideband.start('rt-wideband', { mediaFormat: { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 } });
        const model = await fake!.connection();
        await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
        expect((model.sent('session.update')[0]!.session as Record<string, any>).audio.input.format).to.deep.equal({ type: 'audio/pcm', rate: 24000 });
        const said = tone(500, 16000, 440);
        for (let i = 0; i < 25; i++) wideband.sendMedia(new Uint8Array(said.buffer, i * 640, 640));
        await model.waitFor(() => model.audioIn().length >= 0.9 * 24000, 3000, 'half a second at 24 kHz');
        expect(prominence(new Int16Array(new Uint8Array(model.audioIn()).buffer), 24000, 440)).to.be.above(50);
        model.speak(pcmBytes(tone(500, 24000, 660)));
        await wideband.next(() => wideband.receivedAudio().length >= 0.9 * 16000, 3000);
        expect(prominence(new Int16Array(new Uint8Array(wideband.receivedAudio()).buffer), 16000, 660)).to.be.above(50);
      } finally {
        wideband.close();
      }

      const phoneLike = new AudioSocket(server!.url);
      try {
        await phoneLike.start('rt-mulaw', { mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } });
        const model = await fake!.connection(1);
        await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
        expect((model.sent('session.update')[0]!.session as Record<string, any>).audio.input.format).to.deep.equal({ type: 'audio/pcmu' });
        const said = randomBytes(1600);
        for (let i = 0; i < 10; i++) phoneLike.sendMedia(said.subarray(i * 160, (i + 1) * 160));
        await model.waitFor(() => model.audioIn().length >= said.length, 3000, 'the μ-law audio');
        expect(model.audioIn().equals(said)).to.equal(true);
      } finally {
        phoneLike.close();
      }
    });
  });

  describe('the demo (CALLSTREAM_HANDLER=openai-realtime)', () => {
    const names = ['OPENAI_API_KEY', 'OPENAI_REALTIME_MODEL', 'OPENAI_REALTIME_INSTRUCTIONS', 'OPENAI_REALTIME_VOICE', 'OPENAI_REALTIME_URL'];
    const saved: Record<string, string | undefined> = {};
    beforeEach(() => names.forEach((name) => ((saved[name] = process.env[name]), delete process.env[name])));
    afterEach(() => names.forEach((name) => (saved[name] === undefined ? delete process.env[name] : (process.env[name] = saved[name]))));

    it('refuses to start without OPENAI_API_KEY, saying what to set', () => {
      let error: unknown;
      try {
        demoHandler('openai-realtime');
      } catch (thrown) {
        error = thrown;
      }
      expect(isCallstreamError(error, 'CONFIG_ERROR')).to.equal(true);
      expect((error as Error).message).to.contain('OPENAI_API_KEY');
    });

    it('reads the key, model, instructions, voice and URL from the environment', async () => {
      fake = await FakeRealtimeServer.start({ apiKey: KEY });
      Object.assign(process.env, { OPENAI_API_KEY: KEY, OPENAI_REALTIME_MODEL: 'gpt-realtime-mini', OPENAI_REALTIME_INSTRUCTIONS: 'Speak French.', OPENAI_REALTIME_VOICE: 'cedar', OPENAI_REALTIME_URL: fake.url });
      server = await startTestServer(demoHandler('openai-realtime').handler as AudioHandler);
      const call = await dialTestServer(server);
      const model = await fake.connection();
      expect(model.url.searchParams.get('model')).to.equal('gpt-realtime-mini');
      await model.waitFor(() => model.sent('session.update').length === 1, 3000, 'session.update');
      const session = model.sent('session.update')[0]!.session as Record<string, any>;
      expect(session.instructions).to.equal('Speak French.');
      expect(session.audio.output.voice).to.equal('cedar');
      call.close();
    });
  });
});
