import { expect } from 'chai';
import { EnergyDetector, openaiTranscriber, ReplyOnStopWords, type ReplyOnStopWordsOptions, type TurnContext, type Utterance } from '../../handlers/index.js';
import type { AudioFrame } from '../../src/audio/frame.js';
import { mulawEncode } from '../../src/audio/mulaw.js';
import { FakeTranscribeServer, type TranscriptionRequest } from '../support/fake-openai-transcribe.js';
import { goertzel } from '../support/goertzel.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { concatPcm, frames20, silence } from '../support/speech.js';
import { sendPaced, waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

/**
 * Words are tones here: the fake transcription service "hears" a word when its tone fills at least
 * 80 % of the word's length in the window (a word cut by the window's edge is not heard, as a model
 * would not hear it either). Real audio through real transports; only the recogniser is scripted.
 */
const WORD_MS = 600;
const WORDS = { computer: 400, hello: 700, time: 1000, weather: 1300 } as const;
type Word = keyof typeof WORDS;
const SAID: Record<Word, string> = { computer: 'Computer', hello: 'hello', time: 'what time is it', weather: "what's the weather" };

function tone(frequency: number, ms: number, rate: number): Int16Array {
  const samples = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / rate));
  return samples;
}

/** What is said, at `rate`: words (tones of WORD_MS, back to back) and pauses (numbers, ms). */
function say(rate: number, ...parts: (Word | number)[]): Int16Array {
  return concatPcm(...parts.map((part) => (typeof part === 'number' ? silence(part, rate) : tone(WORDS[part], WORD_MS, rate))));
}

/** Milliseconds of each word's tone in `samples` (20 ms blocks where its tone clearly dominates). */
function wordMs(samples: Int16Array, rate: number): Record<Word, number> {
  const block = rate / 50;
  const out = { computer: 0, hello: 0, time: 0, weather: 0 };
  const words = Object.keys(WORDS) as Word[];
  for (let start = 0; start + block <= samples.length; start += block) {
    const powers = words.map((word) => goertzel(samples, start, block, WORDS[word], rate));
    const best = powers.indexOf(Math.max(...powers));
    const others = Math.max(...powers.filter((_, i) => i !== best));
    if (powers[best]! > 1e9 && powers[best]! > 20 * others) out[words[best]!] += 20;
  }
  return out;
}

/** The fake service's recogniser: the words whose tones fill 80 % of a word, in the order they start. */
function transcribe(request: TranscriptionRequest): string {
  const block = request.sampleRate / 50;
  const heard = new Map<Word, { first: number; ms: number }>();
  const words = Object.keys(WORDS) as Word[];
  for (let start = 0, i = 0; start + block <= request.samples.length; start += block, i++) {
    const level = wordMs(request.samples.subarray(start, start + block), request.sampleRate);
    for (const word of words) {
      if (level[word] === 0) continue;
      const seen = heard.get(word) ?? { first: i, ms: 0 };
      seen.ms += 20;
      heard.set(word, seen);
    }
  }
  const text = [...heard].filter(([, seen]) => seen.ms >= WORD_MS * 0.8).sort((a, b) => a[1].first - b[1].first).map(([word]) => SAID[word]).join(', ');
  return text ? `${text}.` : '';
}

const PCM16 = { mediaFormat: { encoding: 'audio/x-pcm16le', sampleRate: 16000, channels: 1 } };

async function sendPcm(client: AudioSocket, audio: Int16Array): Promise<void> {
  const frames = frames20(audio, 16000);
  await sendPaced(frames.length, (i) => client.sendMedia(new Uint8Array(frames[i]!.buffer)), 4);
}

function beep(ms: number, rate = 16000): AudioFrame {
  return { encoding: 'pcm16', sampleRate: rate, samples: tone(2000, ms, rate) };
}

describe('ReplyOnStopWords: a reply only after the stop word', function () {
  this.timeout(30000);
  let server: TestServer | undefined;
  let fake: FakeTranscribeServer;

  beforeEach(async () => {
    fake = await FakeTranscribeServer.start({ transcript: transcribe });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await fake.close();
  });

  function handler(fn: (utterance: Utterance, turn: TurnContext) => AsyncIterable<AudioFrame>, options: Partial<ReplyOnStopWordsOptions> = {}): ReplyOnStopWords {
    return new ReplyOnStopWords(fn, {
      stopWords: ['computer'],
      transcribe: openaiTranscriber({ apiKey: fake.apiKeyExpected, baseURL: fake.baseURL }),
      detector: new EnergyDetector(),
      ...options,
    });
  }

  it('ignores speech without the stop word, replies to what follows it, then listens for it again (WebSocket)', async () => {
    const heard: Utterance[] = [];
    server = await startTestServer(handler(async function* (utterance) {
      heard.push(utterance);
      yield beep(200);
    }));
    const client = new AudioSocket(server.url);
    await client.start('stop-words', PCM16);

    // "hello" (no stop word), then "computer" alone, then the question in its own utterance.
    await sendPcm(client, say(16000, 300, 'hello', 1200, 'computer', 1200, 'time', 1200));
    await waitUntil(() => heard.length >= 1, 5000, 'the reply to the question after the stop word');
    const first = wordMs(heard[0]!.samples, 16000);
    expect(first.hello, 'no reply to what was said before the stop word').to.equal(0);
    expect(first.time, 'the reply is to the question').to.be.at.least(WORD_MS - 40);
    expect(first.computer, 'nor to the stop word').to.equal(0);
    await client.next((m) => m.data === 'response_starting');
    const stopword = client.messages.findIndex((m) => m.type === 'stopword');
    expect(client.messages[stopword]).to.deep.equal({ type: 'stopword', data: 'computer' });
    expect(stopword, 'stopword comes before the reply').to.be.below(client.messages.findIndex((m) => m.data === 'response_starting'));

    // The question again, without the stop word: no reply. Then the stop word and a question in one breath.
    await sendPcm(client, say(16000, 'time', 1200, 'computer', 'weather', 1200));
    await waitUntil(() => heard.length >= 2, 5000, 'the reply to the second stop word');
    const second = wordMs(heard[1]!.samples, 16000);
    expect(second.weather, 'the reply is to what followed the stop word in the same utterance').to.be.at.least(WORD_MS - 40);
    expect(second.time, 'the question said without the stop word got no reply').to.equal(0);
    expect(client.messages.filter((m) => m.type === 'stopword')).to.have.length(2);

    // Every transcription was a WAV of the handler's audio, at most the longest window, only around speech.
    for (const request of fake.requests) {
      expect(request).to.include({ model: 'gpt-4o-mini-transcribe', sampleRate: 16000, fileName: 'audio.wav', contentType: 'audio/wav' });
      expect(request.durationMs).to.be.within(20, 6000);
    }
    expect(fake.requests.length, 'windows only while someone talks').to.be.within(4, 12);
    client.close();
  });

  it('replies over a phone call to the rest of the utterance the stop word began, transcribing at 8 kHz', async () => {
    const heard: Utterance[] = [];
    server = await startTestServer(handler(async function* (utterance) {
      heard.push(utterance);
      yield beep(300, 8000);
    }, { inputSampleRate: 8000 }));
    const call = await dialTestServer(server);
    const audio = say(8000, 300, 'hello', 1200, 'computer', 'time', 1200);
    const frames = frames20(audio, 8000);
    await sendPaced(frames.length, (i) => call.sendMedia(mulawEncode(frames[i]!)), 4);
    await waitUntil(() => heard.length >= 1, 5000, 'the reply');
    const reply = wordMs(heard[0]!.samples, 8000);
    expect(reply.time).to.be.at.least(WORD_MS - 40);
    expect(reply.hello).to.equal(0);
    expect(heard[0]!.sampleRate).to.equal(8000);
    expect(fake.requests.every((r) => r.sampleRate === 8000)).to.equal(true);
    await call.waitFor(() => call.receivedAudio().length >= 8 * 300, 3000, 'the reply played to the caller');
    call.close();
  });

  it('lets only the stop word cut a reply: other speech over it does not', async () => {
    const turns: TurnContext[] = [];
    let heardBeforeTheCut: string[] | undefined;
    server = await startTestServer(handler(async function* (_utterance, turn) {
      turns.push(turn);
      if (turns.length > 1) return;
      const answered = fake.answers.length;
      turn.signal.addEventListener('abort', () => (heardBeforeTheCut = fake.answers.slice(answered)));
      for (let i = 0; i < 100 && !turn.signal.aborted; i++) yield beep(100); // a 10 s reply
    }));
    const client = new AudioSocket(server.url);
    await client.start('stop-words-barge-in', PCM16);
    await sendPcm(client, say(16000, 300, 'computer', 'time', 1200));
    await waitUntil(() => turns.length >= 1, 5000, 'the first reply');
    // Talking over the reply without the stop word: it goes on; with it, it stops, and the question after it gets the next reply.
    await sendPcm(client, say(16000, 'hello', 'hello', 1200, 'computer', 1200, 'weather', 1200));
    await waitUntil(() => turns.length >= 2, 5000, 'the second reply');
    expect(heardBeforeTheCut, 'the reply was cut').to.not.equal(undefined);
    expect(heardBeforeTheCut, '"hello" was heard over the reply and did not cut it').to.include('hello.');
    expect(heardBeforeTheCut!.at(-1), 'the stop word cut it').to.equal('Computer.');
    expect(client.messages.some((m) => m.event === 'clear'), 'the client was told to drop the rest').to.equal(true);
    client.close();
  });

  it('replies to the turn the stop word began even when the transcription comes back after the turn ended', async () => {
    const heard: Utterance[] = [];
    let held = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    fake.transcript = async (request) => {
      const text = transcribe(request);
      if (text.includes('Computer')) {
        held++;
        await released; // answered once all the audio is in: the turn's pause (600 ms) is long over
      }
      return text;
    };
    server = await startTestServer(handler(async function* (utterance) {
      heard.push(utterance);
    }));
    const client = new AudioSocket(server.url);
    await client.start('stop-words-late', PCM16);
    await sendPcm(client, say(16000, 300, 'computer', 'time', 2000));
    expect(heard).to.have.length(0);
    release();
    await waitUntil(() => heard.length >= 1, 5000, 'the reply');
    expect(held).to.equal(1);
    expect(wordMs(heard[0]!.samples, 16000).time).to.be.at.least(WORD_MS - 40);
    client.close();
  });

  it('gives up a transcription that does not come back, and the next window still hears the stop word', async () => {
    const heard: Utterance[] = [];
    let hung = 0;
    let release: () => void = () => {};
    const never = new Promise<void>((resolve) => (release = resolve));
    fake.transcript = async (request) => {
      const text = transcribe(request);
      if (text.includes('Computer') && hung++ === 0) await never; // the first window with the stop word is never answered
      return text;
    };
    server = await startTestServer(handler(async function* (utterance) {
      heard.push(utterance);
    }, { transcribeTimeoutMs: 1500 }));
    const client = new AudioSocket(server.url);
    await client.start('stop-words-hung', PCM16);
    // In real time: the timeout is 1.5 s of audio, and the answers that do come take far less.
    const frames = frames20(say(16000, 300, 'computer', 1200, 'time', 2500), 16000);
    await sendPaced(frames.length, (i) => client.sendMedia(new Uint8Array(frames[i]!.buffer)), 1);
    await waitUntil(() => heard.length >= 1, 5000, 'the reply');
    expect(hung).to.be.at.least(2);
    expect(wordMs(heard[0]!.samples, 16000).time).to.be.at.least(WORD_MS - 40);
    expect(client.messages.filter((m) => m.type === 'warning')).to.have.length(1);
    release();
    client.close();
  });

  it('goes on without stop words when transcription fails: one warning, no details for the client', async () => {
    const heard: Utterance[] = [];
    server = await startTestServer(handler(async function* (utterance) {
      heard.push(utterance);
    }, { transcribe: openaiTranscriber({ apiKey: 'sk-wrong-key', baseURL: fake.baseURL }) }));
    const client = new AudioSocket(server.url);
    await client.start('stop-words-refused', PCM16);
    await sendPcm(client, say(16000, 300, 'computer', 1200, 'time', 1200));
    await waitUntil(() => fake.refused.length >= 2, 5000, 'the refused transcriptions');
    const warnings = client.messages.filter((m) => m.type === 'warning');
    expect(warnings).to.deep.equal([{ type: 'warning', message: 'Transcription failed: the stop word cannot be heard for now.' }]);
    expect(fake.refused.every((r) => r.status === 401)).to.equal(true);
    expect(heard).to.have.length(0);
    client.close();
  });
});
