import { Writable } from 'node:stream';
import { expect } from 'chai';
import twilio from 'twilio';
import { EchoHandler } from '../../handlers/index.js';
import { createLogger } from '../../src/logger.js';
import type { Session } from '../../src/session/session.js';
import { AUTH_TOKEN, PUBLIC_URL, startTestServer } from '../support/server.js';
import { EventReader } from '../support/sse.js';
import { count, reportAfter, tally } from '../support/tally.js';
import { postWebhook, sid, TwilioMediaStream } from '../support/twilio-call.js';
import { waitUntil } from '../support/wait.js';
import { TestPeer } from '../support/webrtc-peer.js';
import { AudioSocket } from '../support/ws-client.js';

const counts = tally('secrets in logs');

describe('security: no secret reaches the logs', function () {
  this.timeout(30000);
  reportAfter('secrets in logs', counts);

  it('logs a signed call, forgeries, sessions with secrets and a browser at trace level without any of their secrets', async () => {
    let logText = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    });
    const server = await startTestServer(new EchoHandler(), {
      logger: createLogger({ level: 'trace', destination }),
      additionalInputs: [{ name: 'name', type: 'text' }],
      rateLimit: false,
    });
    const secrets = new Map<string, string>([['auth token', AUTH_TOKEN]]);
    const sessions: Session[] = [];
    server.stream.on('session', (s) => sessions.push(s));
    try {
      // A signed call: the webhook's and the upgrade's signatures, the call token.
      const callSid = sid('CA');
      const params = { CallSid: callSid, From: '+15550007777', To: '+15550008888' };
      const hook = await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params });
      secrets.set('webhook signature', twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/telephone/incoming`, params));
      secrets.set('media signature', twilio.getExpectedTwilioSignature(AUTH_TOKEN, hook.streamUrl!, {}));
      secrets.set('call token', hook.parameters.callstreamToken!);
      const call = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await call.begin(hook.parameters);
      for (let i = 0; i < 10; i++) call.sendMedia(Buffer.alloc(160, i));
      call.sendDtmf('5');

      // Forgeries (their secrets are an attacker's guesses, but a log is no place for them either).
      await postWebhook({ baseUrl: server.url, publicUrl: PUBLIC_URL, authToken: AUTH_TOKEN, params, signWith: 'guessed-token-4f1c' });
      secrets.set('forged signature', twilio.getExpectedTwilioSignature('guessed-token-4f1c', `${PUBLIC_URL}/telephone/incoming`, params));
      const forgedUpgrade = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, signWith: 'guessed-token-4f1c' });
      await forgedUpgrade.opened.catch(() => undefined);
      const replay = new TwilioMediaStream({ baseUrl: server.url, streamUrl: hook.streamUrl!, authToken: AUTH_TOKEN }, callSid);
      await replay.begin(hook.parameters);
      await replay.closed;

      // A program's session: its secret, used and guessed on the input hook and the outputs.
      const program = new AudioSocket(server.url);
      const started = await program.start('logged-program');
      const secret = (started.session as { secret: string }).secret;
      secrets.set('WebSocket session secret', secret);
      secrets.set('guessed session secret', 'guessed-secret-9d2e7a');
      const hookWith = (given: string) =>
        fetch(`${server.url}/input_hook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Callstream-Secret': given }, body: JSON.stringify({ webrtc_id: 'logged-program', name: 'Ada' }) });
      expect((await hookWith(secret)).status).to.equal(200);
      expect((await hookWith('guessed-secret-9d2e7a')).status).to.equal(403);
      const outputs = new EventReader(`${server.url}/outputs?webrtc_id=logged-program&secret=${encodeURIComponent(secret)}`);
      await outputs.until(() => outputs.status !== 0);

      // A browser: the answer carries its session secret.
      const peer = new TestPeer(server.url, 'logged-browser', { codec: 'pcmu' });
      const answer = await peer.connect();
      secrets.set('WebRTC session secret', (answer.session as { secret: string }).secret);
      await peer.close();
      // The browser's session ends (and logs its end) on the peer's close; the call's echo is back.
      await waitUntil(() => sessions.some((s) => s.transport === 'webrtc' && s.isClosed), 3000, "the browser's session ended");
      await call.waitFor(() => call.receivedAudio().length >= 10 * 160, 3000, "the call's echo");
      call.sendStop();
      await call.closed;
      program.close();
      await outputs.done;
      for (const session of sessions) secrets.set(`${session.transport} session secret (${session.id})`, session.secret);
    } finally {
      await server.close();
    }

    if (process.env.SHOW_LOG) process.stdout.write(logText);
    expect(logText).to.contain('session started').and.contain('session stopped').and.contain('X-Twilio-Signature');
    expect(logText.split('\n').length, 'log lines written').to.be.greaterThan(12);
    for (const [what, value] of secrets) {
      count(counts, 'secrets checked');
      expect(logText.includes(value), `${what} appears in the log`).to.equal(false);
    }
    count(counts, 'log lines scanned', logText.split('\n').length - 1);
  });
  it('logs links, bearer tokens and cookies of the access token at trace level without the token or its cookie', async () => {
    let logText = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    });
    const token = 'logged-access-token-51c0e7d9';
    const guess = 'guessed-access-token-0a7f3e';
    const server = await startTestServer(new EchoHandler(), { logger: createLogger({ level: 'trace', destination }), accessToken: token, rateLimit: false });
    let cookie = '';
    try {
      for (const given of [token, guess]) {
        const link = await fetch(`${server.url}/?token=${given}`, { redirect: 'manual' });
        await link.body?.cancel();
        cookie ||= link.headers.getSetCookie()[0]?.split(';')[0]?.split('=')[1] ?? '';
        for (const headers of [{ Authorization: `Bearer ${given}` }, { Cookie: `callstream_access=${given}` }] as Record<string, string>[]) {
          await (await fetch(`${server.url}/status`, { headers })).body?.cancel();
          const socket = new AudioSocket(server.url, '/websocket/offer', headers);
          await socket.opened.catch(() => undefined);
          socket.close();
        }
      }
      expect(cookie, 'the link set a cookie').to.not.equal('');
      await (await fetch(`${server.url}/status`, { headers: { Cookie: `callstream_access=${cookie}` } })).body?.cancel();
    } finally {
      await server.close();
    }
    for (const [what, value] of [['access token', token], ['guessed token', guess], ['access cookie', cookie]]) {
      count(counts, 'secrets checked');
      expect(logText.includes(value!), `${what} appears in the log`).to.equal(false);
    }
  });
});
