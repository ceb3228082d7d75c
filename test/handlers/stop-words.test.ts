import { expect } from 'chai';
import { openaiTranscriber, StopWordMatcher } from '../../handlers/index.js';
import { loadOpenAI, wavBytes } from '../../handlers/reply-on-stop-words/openai-transcriber.js';
import { RecentAudio } from '../../handlers/reply-on-stop-words/recent-audio.js';
import { isCallstreamError } from '../../src/errors.js';
import { FakeTranscribeServer } from '../support/fake-openai-transcribe.js';

/** The promise's rejection (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('stop words: matching transcripts', () => {
  const matcher = new StopWordMatcher(['computer', 'OK Jarvis', "what's up"]);

  it('matches whole words, whatever the case and punctuation, and says what follows', () => {
    expect(matcher.match('Computer, what time is it?')).to.deep.equal({ stopWord: 'computer', after: 'what time is it' });
    expect(matcher.match('Hey COMPUTER!')).to.deep.equal({ stopWord: 'computer', after: '' });
    expect(matcher.match('I love computers.')).to.equal(undefined);
    expect(matcher.match('minicomputer')).to.equal(undefined);
  });

  it('matches phrases as consecutive words, across punctuation and spacing', () => {
    expect(matcher.match('ok, jarvis: lights on')).to.deep.equal({ stopWord: 'OK Jarvis', after: 'lights on' });
    expect(matcher.match('OK.  Jarvis.')).to.deep.equal({ stopWord: 'OK Jarvis', after: '' });
    expect(matcher.match('ok then jarvis')).to.equal(undefined);
    expect(matcher.match('Whats up')).to.deep.equal({ stopWord: "what's up", after: '' }, 'apostrophes do not count');
  });

  it('takes the earliest stop word, and ignores accents', () => {
    expect(matcher.match('So, what’s up, computer?')).to.deep.equal({ stopWord: "what's up", after: 'computer' });
    expect(new StopWordMatcher(['café']).match('Cafe, please')).to.deep.equal({ stopWord: 'café', after: 'please' });
  });

  it('refuses an empty list or a stop word with no word in it', () => {
    expect(() => new StopWordMatcher([])).to.throw(/non-empty list/);
    expect(() => new StopWordMatcher(['computer', ' ,! '])).to.throw(/\(got " ,! "\)/);
  });
});

describe('stop words: the recent audio kept for windows', () => {
  it('keeps the last samples across the end of its ring, and gives any range of them', () => {
    const audio = new RecentAudio(10);
    let now = 0;
    for (const size of [4, 4, 4, 7]) {
      audio.append(Int16Array.from({ length: size }, (_, i) => now + i));
      now += size;
    }
    expect(audio.length).to.equal(10);
    expect([...audio.range(now, 0, now)], 'what fell out is left out').to.deep.equal([9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect([...audio.range(now, 12, 15)]).to.deep.equal([12, 13, 14]);
    audio.append(Int16Array.from({ length: 25 }, (_, i) => now + i)); // more than it holds at once
    now += 25;
    expect([...audio.range(now, now - 3, now)]).to.deep.equal([41, 42, 43]);
    audio.clear();
    expect(audio.range(now, 0, now)).to.have.length(0);
  });
});

describe('openaiTranscriber: OpenAI transcription through the official client', function () {
  this.timeout(10000);
  let fake: FakeTranscribeServer;

  beforeEach(async () => {
    fake = await FakeTranscribeServer.start({ transcript: (request) => `heard ${Math.round(request.durationMs)} ms` });
  });

  afterEach(() => fake.close());

  it('sends the PCM as a 16-bit mono WAV with the model, language and prompt, and returns the text', async () => {
    const transcribe = openaiTranscriber({ apiKey: fake.apiKeyExpected, baseURL: fake.baseURL, model: 'whisper-1', language: 'en', prompt: 'Computer' });
    const pcm = Int16Array.from({ length: 12000 }, (_, i) => Math.round(3000 * Math.sin(i / 5)));
    expect(await transcribe(pcm, 8000, new AbortController().signal)).to.equal('heard 1500 ms');
    const [request] = fake.requests;
    expect(request).to.include({ model: 'whisper-1', language: 'en', prompt: 'Computer', sampleRate: 8000, fileName: 'audio.wav', contentType: 'audio/wav' });
    expect([...request!.samples]).to.deep.equal([...pcm]);
  });

  it('takes the key and the base URL from OPENAI_API_KEY and OPENAI_BASE_URL, with gpt-4o-mini-transcribe by default', async () => {
    const transcribe = openaiTranscriber({}, { OPENAI_API_KEY: fake.apiKeyExpected, OPENAI_BASE_URL: fake.baseURL });
    expect(await transcribe(new Int16Array(1600), 16000, new AbortController().signal)).to.equal('heard 100 ms');
    expect(fake.requests[0]).to.include({ model: 'gpt-4o-mini-transcribe', sampleRate: 16000 });
    expect(fake.requests[0]!.language).to.equal(undefined);
  });

  it('fails at once without an API key, naming OPENAI_API_KEY', () => {
    let thrown: unknown;
    try {
      openaiTranscriber({}, {});
    } catch (error) {
      thrown = error;
    }
    expect(isCallstreamError(thrown, 'CONFIG_ERROR')).to.equal(true);
    expect((thrown as Error).message).to.contain('OPENAI_API_KEY');
  });

  it('rejects with the API error for a refused key, and stops when its signal aborts', async () => {
    const refused = await rejection(openaiTranscriber({ apiKey: 'sk-wrong', baseURL: fake.baseURL })(new Int16Array(160), 8000, new AbortController().signal));
    expect(refused.message).to.contain('401');
    expect(fake.refused[0]).to.deep.include({ status: 401 });
    let answer: () => void = () => {};
    fake.transcript = () => new Promise((resolve) => (answer = () => resolve('late')));
    const controller = new AbortController();
    const pending = openaiTranscriber({ apiKey: fake.apiKeyExpected, baseURL: fake.baseURL })(new Int16Array(160), 8000, controller.signal);
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect((await rejection(pending)).message).to.match(/aborted/);
    answer();
  });

  it('says how to install the openai package when it cannot be loaded', async () => {
    const error = await rejection(loadOpenAI('openai-not-installed-anywhere'));
    expect(isCallstreamError(error, 'CONFIG_ERROR')).to.equal(true);
    expect((error as Error & { hint?: string }).hint).to.match(/npm install openai.*Node >= 22/);
  });

  it('the real openai module has the shape the transcriber relies on', async () => {
    const module = await loadOpenAI();
    // Checked by the compiler too: the real module's types fit the shape the transcriber declares.
    const typed: Awaited<ReturnType<typeof loadOpenAI>> = await import('openai');
    expect(typed.OpenAI).to.equal(module.OpenAI);
    expect(module.OpenAI).to.be.a('function');
    expect(module.toFile).to.be.a('function');
    const wav = wavBytes(new Int16Array([1, -1, 2]), 8000);
    expect(wav.length).to.equal(44 + 6);
    expect(wav.readUInt32LE(24)).to.equal(8000);
  });
});
