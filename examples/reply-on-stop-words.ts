/**
 * ReplyOnStopWords: a reply only when the user says the stop word first, as with a smart speaker.
 * "Computer, what time is it?" gets one reply; "what time is it?" alone gets nothing. After each
 * reply it listens for the stop word again.
 *
 * The stop word is heard by OpenAI's transcription API: set OPENAI_API_KEY and install its client
 * (`npm install openai`: an optional peer dependency of callstream; it wants Node >= 22). The reply
 * here is a beep as long as the speech after the stop word: a stand-in for the real thing
 * (speech-to-text, a language model, text-to-speech).
 *
 * Run it:  OPENAI_API_KEY=sk-... npx tsx examples/reply-on-stop-words.ts
 *          then open http://localhost:8000/, say "computer", your question, and pause.
 * STOP_WORDS="computer,ok jarvis" changes the stop words.
 */
import Koa from 'koa';
import { listen, pcmFrame, Stream } from 'callstream';
import { openaiTranscriber, ReplyOnStopWords } from 'callstream/handlers';

const RATE = 16000;
const BEEP_HZ = 660;
const stopWords = (process.env.STOP_WORDS ?? 'computer').split(',').map((word) => word.trim());

const handler = new ReplyOnStopWords(
  async function* beepBack(utterance, turn) {
    // utterance: the speech after the stop word, as ReplyOnPause gives it (16 kHz PCM).
    const ms = Math.round(utterance.speechMs);
    turn.log.info({ ms }, 'heard a request after the stop word: beeping it back');
    const samples = new Int16Array(Math.round((ms / 1000) * RATE));
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * BEEP_HZ * i) / RATE));
    yield pcmFrame(samples, RATE);
  },
  {
    stopWords,
    // OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible service); naming the stop words helps the model.
    transcribe: openaiTranscriber({ language: 'en', prompt: stopWords.join(', ') }),
  },
);

const app = new Koa();
new Stream(handler).mount(app);
const server = await listen(app, '0.0.0.0', Number(process.env.PORT ?? 8000));
console.log(`Listening on ${server.url}`);
