import { expect } from 'chai';
import { openaiRealtime, type RealtimeOutput } from '../../handlers/index.js';
import type { Session } from '../../src/session/session.js';
import { dialTestServer, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';
import { AudioSocket } from '../support/ws-client.js';

/** Against OpenAI's real Realtime API: runs only with OPENAI_API_KEY set (CI has none). */
describe('openaiRealtime: live, against OpenAI\'s Realtime API', function () {
  this.timeout(60000);
  const apiKey = process.env.OPENAI_API_KEY;
  let server: TestServer | undefined;
  const assistant: string[] = [];

  before(function () {
    if (!apiKey) {
      console.log('      (skipped: set OPENAI_API_KEY to run the live test against OpenAI\'s Realtime API)');
      this.skip();
    }
  });

  beforeEach(async () => {
    assistant.length = 0;
    server = await startTestServer(openaiRealtime({ apiKey: apiKey!, model: process.env.OPENAI_REALTIME_MODEL, greeting: 'Say "hello there" and nothing else.' }));
    server.stream.on('session', (session: Session) =>
      session.on('output', (outputs) => {
        const output = outputs.args[0] as RealtimeOutput;
        if (output.type === 'transcript' && output.role === 'assistant') assistant.push(output.text);
      }),
    );
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a program (24 kHz PCM) hears the model greet it, and gets the transcript', async () => {
    const client = new AudioSocket(server!.url);
    try {
      await client.start('live-pcm', { mediaFormat: { encoding: 'audio/x-pcm16le', sampleRate: 24000, channels: 1 } });
      await client.next(() => client.receivedAudio().length >= 0.3 * 48000, 30000);
      await waitUntil(() => assistant.length > 0, 30000, 'the model\'s transcript');
      expect(assistant[0]!.toLowerCase()).to.contain('hello');
    } finally {
      client.close();
    }
  });

  it('a phone call hears the greeting in μ-law', async () => {
    const call = await dialTestServer(server!);
    try {
      await call.waitFor(() => call.receivedAudio().length >= 0.3 * 8000, 30000, 'the greeting');
    } finally {
      call.close();
    }
  });
});
