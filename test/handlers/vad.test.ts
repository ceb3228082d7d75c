import { expect } from 'chai';
import { EnergyDetector, SileroDetector, type SpeechScorer, TurnDetector, type TurnEvent } from '../../handlers/index.js';
import { concatPcm, noise, silence, speech } from '../support/speech.js';

async function scores(scorer: SpeechScorer, samples: Int16Array): Promise<number[]> {
  const out: number[] = [];
  const window = new Float32Array(scorer.windowSamples);
  for (let offset = 0; offset + window.length <= samples.length; offset += window.length) {
    for (let i = 0; i < window.length; i++) window[i] = samples[offset + i]! / 32768;
    out.push(await scorer.score(window));
  }
  return out;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function turns(detector: TurnDetector, samples: Int16Array, rate: number): Promise<TurnEvent[]> {
  const events: TurnEvent[] = [];
  const step = (rate * 20) / 1000;
  for (let offset = 0; offset < samples.length; offset += step) events.push(...(await detector.push(samples.subarray(offset, offset + step))));
  return events;
}

const OPTIONS = { threshold: 0.5, startedTalkingMs: 200, minSilenceMs: 600, speechPadMs: 200, minSpeechMs: 250, maxSpeechMs: Infinity };

describe('voice activity: Silero v5 (streaming) and the energy detector', function () {
  this.timeout(30000);

  for (const rate of [16000, 8000] as const) {
    it(`Silero scores espeak speech well above the threshold and silence far below (${rate} Hz)`, async () => {
      const scorer = await new SileroDetector().createScorer(rate);
      const words = speech('The quick brown fox jumps over the lazy dog', rate);
      const probabilities = await scores(scorer, concatPcm(silence(500, rate), words, silence(800, rate)));
      const perWindowMs = (scorer.windowSamples * 1000) / rate;
      const speechWindows = probabilities.slice(Math.ceil(600 / perWindowMs), Math.floor((500 + (words.length * 1000) / rate - 100) / perWindowMs));
      expect(mean(speechWindows)).to.be.greaterThan(0.75);
      expect(Math.max(...speechWindows)).to.be.greaterThan(0.95);
      expect(Math.max(...probabilities.slice(0, Math.floor(400 / perWindowMs)))).to.be.lessThan(0.1);
      expect(Math.max(...probabilities.slice(-Math.floor(400 / perWindowMs)))).to.be.lessThan(0.2);
    });
  }

  it('Silero does not take white noise for speech', async () => {
    const scorer = await new SileroDetector().createScorer(16000);
    const probabilities = await scores(scorer, noise(3000, 16000, -30));
    expect(mean(probabilities)).to.be.lessThan(0.2);
  });

  it('finds each utterance and detects the pause a fixed silence after the speech ends', async () => {
    const rate = 16000;
    const first = speech('Hello there, how are you today', rate);
    const second = speech('Tell me a story about the sea', rate);
    const ms = (n: Int16Array) => (n.length * 1000) / rate;
    const audio = concatPcm(silence(700, rate), first, silence(1500, rate), second, silence(1500, rate));
    const detector = new TurnDetector(await new SileroDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS });
    const events = await turns(detector, audio, rate);
    const ended = events.filter((e) => e.type === 'ended');
    expect(events.filter((e) => e.type === 'started')).to.have.length(2);
    expect(ended).to.have.length(2);
    const firstEnd = 700 + ms(first);
    const secondEnd = 700 + ms(first) + 1500 + ms(second);
    // Pause = speech end + 600 ms, to about a window (plus the model's short tail after speech).
    expect(ended[0]!.atMs - firstEnd).to.be.within(560, 800);
    expect(ended[1]!.atMs - secondEnd).to.be.within(560, 800);
    // The utterance holds the speech, padded, not the pause.
    for (const [event, words] of [[ended[0]!, first], [ended[1]!, second]] as const) {
      if (event.type !== 'ended') throw new Error('unreachable');
      expect(ms(event.utterance)).to.be.within(ms(words) - 100, ms(words) + 650);
    }
  });

  it('FastRTC\'s 0.6 s chunk policy (the baseline) detects the same pause later', async () => {
    const rate = 16000;
    const words = speech('Hello there, how are you today', rate);
    const audio = concatPcm(silence(700, rate), words, silence(2000, rate));
    const speechEnd = 700 + (words.length * 1000) / rate;
    const streaming = await turns(new TurnDetector(await new SileroDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS, minSilenceMs: 300 }), audio, rate);
    const chunked = await turns(new TurnDetector(await new SileroDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS, chunkMs: 600 }), audio, rate);
    const streamingEnd = streaming.find((e) => e.type === 'ended')!.atMs - speechEnd;
    const chunkedEnd = chunked.find((e) => e.type === 'ended')!.atMs - speechEnd;
    expect(streamingEnd).to.be.lessThan(450);
    expect(chunkedEnd).to.be.greaterThan(streamingEnd);
  });

  it('drops turns with too little speech (a cough) and forces long turns at maxSpeechMs', async () => {
    const rate = 16000;
    const short = new TurnDetector(new EnergyDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS, startedTalkingMs: 60 });
    const blip = noise(120, rate, -15);
    const events = await turns(short, concatPcm(silence(300, rate), blip, silence(1000, rate)), rate);
    expect(events.map((e) => e.type)).to.deep.equal(['started', 'discarded']);
    const long = new TurnDetector(await new SileroDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS, maxSpeechMs: 1000 });
    const longEvents = await turns(long, concatPcm(speech('This is a long sentence that keeps going and going without any pause at all', rate), silence(1000, rate)), rate);
    const forced = longEvents.find((e) => e.type === 'ended');
    expect(forced && forced.type === 'ended' && forced.forced).to.equal(true);
  });

  it('the energy detector finds clean speech turns too (tests, machines without onnxruntime)', async () => {
    const rate = 16000;
    const words = speech('Hello there, how are you today', rate);
    const detector = new TurnDetector(new EnergyDetector().createScorer(rate), { sampleRate: rate, ...OPTIONS });
    const events = await turns(detector, concatPcm(silence(500, rate), words, silence(1200, rate)), rate);
    expect(events.filter((e) => e.type === 'ended')).to.have.length(1);
  });

  it('says where a turn starts and where its speech was, in stream time', async () => {
    const rate = 16000;
    const scripted: SpeechScorer = { windowSamples: 512, score: (window) => (window.some((v) => Math.abs(v) > 0.1) ? 1 : 0) };
    const options = { ...OPTIONS, sampleRate: rate, startedTalkingMs: 64, minSpeechMs: 64, minSilenceMs: 500, speechPadMs: 64 } as const;
    const loud = (ms: number) => new Int16Array((rate * ms) / 1000).fill(10000);
    // Speech 320-640 ms and 800-1120 ms (window boundaries: multiples of 32 ms), then the pause.
    const events = await turns(new TurnDetector(scripted, options), concatPcm(silence(320, rate), loud(320), silence(160, rate), loud(320), silence(1000, rate)), rate);
    const ended = events.find((e) => e.type === 'ended');
    if (ended?.type !== 'ended') throw new Error('no turn');
    expect(ended.startMs).to.equal(320 - 64);
    expect(ended.speechSpans).to.deep.equal([
      { startMs: 320, endMs: 640 },
      { startMs: 800, endMs: 1120 },
    ]);
    expect(ended.utterance.length).to.equal(((1120 + 64 - (320 - 64)) * rate) / 1000);
  });

  it('ends the turn on the frame that completes the pause, when the audio not yet scored is quiet', async () => {
    const rate = 16000;
    // Speech is any window with a loud sample; 20 ms frames, 32 ms windows.
    const scripted: SpeechScorer = { windowSamples: 512, score: (window) => (window.some((v) => Math.abs(v) > 0.1) ? 1 : 0) };
    const options = { ...OPTIONS, sampleRate: rate, startedTalkingMs: 64, minSpeechMs: 64, minSilenceMs: 500 } as const;
    const spoken = new Int16Array((rate * 640) / 1000).fill(10000); // 20 windows of speech
    const quiet = await turns(new TurnDetector(scripted, options), concatPcm(spoken, silence(1000, rate)), rate);
    const ended = quiet.find((e) => e.type === 'ended')!;
    // Speech ends at 640 ms: the pause is complete at 1140 ms, on a frame boundary (1140 is one).
    expect(ended.atMs).to.equal(1140);
    // A quiet-by-score window tail that is loud by energy (a model's miss) waits for its window.
    const hum = new Int16Array((rate * 1000) / 1000).fill(3000); // -21 dBFS, scored 0 by the script
    const loud = await turns(new TurnDetector(scripted, options), concatPcm(spoken, hum), rate);
    const loudEnd = loud.find((e) => e.type === 'ended')!;
    expect(loudEnd.atMs % 32).to.equal(0);
    expect(loudEnd.atMs).to.be.within(1140, 1140 + 32);
  });
});
