import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { EchoHandler } from '../../handlers/index.js';
import { CallstreamError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { Stream } from '../../src/stream.js';
import { type Fastphone, startFastphone } from '../../tunnels/fastphone.js';
import { readState } from '../../tunnels/fastphone-state.js';
import { FixedUrlTunnel } from '../../tunnels/fixed-url.js';
import { LocalTunnel } from '../../tunnels/localtunnel.js';
import { FakeTwilioApi, type NumberRecord } from '../support/fake-twilio.js';
import { FakeLocaltunnelServer } from '../support/localtunnel-server.js';
import { postWebhook, sid } from '../support/twilio-call.js';
import { rejection } from '../support/rejection.js';
import { expectEchoThroughTunnel } from '../support/tunnel-call.js';

const OLD_VOICE_URL = 'https://demo.twilio.com/welcome/voice/';

describe('startFastphone(stream, ): a Stream on a Twilio number through a tunnel (fake Twilio API, local tunnel server)', function () {
  this.timeout(30000);
  let api: FakeTwilioApi;
  let lt: FakeLocaltunnelServer;
  let dir: string;
  let stateFile: string;
  let record: NumberRecord;
  let stream: Stream;
  let fastphone: Fastphone | undefined;
  let lines: string[];

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    lt = await FakeLocaltunnelServer.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'callstream-fastphone-'));
    stateFile = path.join(dir, 'state.json');
    record = api.addNumber('+15550001111');
    stream = new Stream(new EchoHandler(), { logger: silentLogger() });
    lines = [];
  });

  afterEach(async () => {
    await fastphone?.stop().catch(() => {});
    fastphone = undefined;
    await lt.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  const common = () => ({
    accountSid: api.accountSid,
    apiBaseUrl: api.url,
    tunnel: new LocalTunnel({ host: lt.url }),
    port: 0,
    stateFile,
    signals: false as const,
    print: (line: string) => lines.push(line),
  });

  it('points the number at the tunnel, serves a call through it, and puts everything back on stop()', async () => {
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken });
    expect(fastphone.phoneNumber).to.equal('+15550001111');
    expect(fastphone.publicUrl).to.match(/^http:\/\/[a-z0-9]+\.lt\.test:\d+$/);
    expect(fastphone.webhookUrl).to.equal(`${fastphone.publicUrl}/telephone/incoming`);
    expect(record.voice_url).to.equal(fastphone.webhookUrl);
    expect(api.requestsTo('POST', record.sid)[0]!.form).to.deep.equal({
      VoiceUrl: fastphone.webhookUrl,
      VoiceMethod: 'POST',
      StatusCallback: `${fastphone.publicUrl}/telephone/status`,
      StatusCallbackMethod: 'POST',
    });
    expect(record.status_callback).to.equal(`${fastphone.publicUrl}/telephone/status`);
    expect((await readState(stateFile))!.previous.voiceUrl).to.equal(OLD_VOICE_URL);
    expect(lines[0]).to.equal('Call +15550001111 to talk to the handler.');
    expect(lines.join('\n')).to.contain(`voice webhook  ${fastphone.webhookUrl} (POST)`).and.to.contain('Trial accounts');
    expect(stream.options.publicUrl).to.equal(fastphone.publicUrl);

    await expectEchoThroughTunnel(lt, fastphone.publicUrl, api.authToken);

    const localUrl = fastphone.running.url;
    expect(await fastphone.stop()).to.equal('restored');
    await fastphone.done;
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
    expect(api.requestsTo('POST', record.sid).at(-1)!.form).to.deep.equal({ VoiceUrl: OLD_VOICE_URL, VoiceMethod: 'POST', StatusCallback: '', StatusCallbackMethod: 'POST' });
    expect(record.status_callback).to.equal('');
    expect(existsSync(stateFile)).to.equal(false);
    expect(lines.at(-1)).to.equal(`Restored +15550001111: voice URL ${OLD_VOICE_URL} again.`);
    const refused = await fetch(`${localUrl}/status`).then(() => 'answered', () => 'refused');
    expect(refused, 'the server is closed').to.equal('refused');
    expect(await fastphone.stop(), 'stop() is idempotent').to.equal('restored');
  });

  it('lends stream.call() its tunnel and account: an outbound call\'s answer comes back through the tunnel', async () => {
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken });
    api.calls.reach(fastphone.publicUrl, { baseUrl: lt.url, host: lt.hostOf(fastphone.publicUrl) });
    const call = await stream.call({ to: '+15550002222', from: fastphone.phoneNumber });
    const callee = await api.calls.next();
    expect(callee.form).to.deep.include({ Url: fastphone.webhookUrl, StatusCallback: `${fastphone.publicUrl}/telephone/status` });
    const media = await callee.answer();
    const session = await call.session;
    expect(session.facts.direction).to.equal('outbound-api');
    for (let i = 0; i < 10; i++) media.sendMedia(Buffer.alloc(160, 0x50 + i));
    await media.waitFor(() => media.receivedAudio().length >= 1600, 5000, 'echo through the tunnel');
    await callee.hangUp();
    expect((await call.ended).status).to.equal('completed');
    expect(callee.callbacks.every((c) => c.status === 204), JSON.stringify(callee.callbacks)).to.equal(true);
  });

  it('refuses an API key without the auth token (signatures need it), before touching anything', async () => {
    const error = await rejection(startFastphone(stream, { ...common(), apiKey: api.apiKey, apiSecret: api.apiSecret }));
    expect(error.code).to.equal('CONFIG_ERROR');
    expect(error.message).to.equal('Webhook signatures need the account\'s auth token, and only an API key was given.');
    expect(error.hint).to.contain('--insecure');
    expect(api.requests).to.have.length(0);
    expect(lt.handshakes).to.have.length(0);
  });

  it('runs with an API key and no signature checks when told insecure, and says so', async () => {
    fastphone = await startFastphone(stream, { ...common(), apiKey: api.apiKey, apiSecret: api.apiSecret, insecure: true });
    expect(lines.join('\n')).to.contain('WARNING: --insecure: signatures are NOT checked');
    expect(api.requests.every((r) => r.user === api.apiKey)).to.equal(true);
    await expectEchoThroughTunnel(lt, fastphone.publicUrl, undefined);
    await fastphone.stop();
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
  });

  for (const [what, fields, message] of [
    ['a TwiML App', { voice_application_sid: 'AP0123456789abcdef0123456789abcdef' }, /is answered by the TwiML App AP0123456789abcdef0123456789abcdef/],
    ['a SIP trunk', { trunk_sid: 'TK0123456789abcdef0123456789abcdef' }, /belongs to the SIP trunk TK0123456789abcdef0123456789abcdef/],
  ] as const) {
    it(`refuses a number bound to ${what}, and changes nothing`, async () => {
      Object.assign(record, fields);
      const error = await rejection(startFastphone(stream, { ...common(), authToken: api.authToken }));
      expect(error.code).to.equal('CONFIG_ERROR');
      expect(error.message).to.match(message).and.to.contain('nothing was changed');
      expect(api.requestsTo('POST', record.sid)).to.have.length(0);
      expect(existsSync(stateFile)).to.equal(false);
      expect(lt.handshakes, 'no tunnel was opened').to.have.length(0);
    });
  }

  it('changes nothing when the tunnel cannot open, and the Stream can start again', async () => {
    lt.refusals.set('taken-name', 'Subdomain is taken');
    const error = await rejection(startFastphone(stream, { ...common(), authToken: api.authToken, tunnel: new LocalTunnel({ host: lt.url, subdomain: 'taken-name' }) }));
    expect(error.code).to.equal('TUNNEL_ERROR');
    expect(api.requestsTo('POST', record.sid)).to.have.length(0);
    expect(existsSync(stateFile)).to.equal(false);
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken });
    await expectEchoThroughTunnel(lt, fastphone.publicUrl, api.authToken);
  });

  it('restores the number and stops when the tunnel dies', async () => {
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken });
    await lt.close();
    const error = await fastphone.done.then(() => undefined, (e: unknown) => e as CallstreamError);
    expect(error).to.be.instanceOf(CallstreamError);
    expect(error!.code).to.equal('TUNNEL_ERROR');
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
    expect(existsSync(stateFile)).to.equal(false);
  });

  it('stops and restores on a signal', async () => {
    const keepAlive = () => {};
    process.on('SIGUSR2', keepAlive); // someone else handles the signal too: fastphone does not re-raise it
    try {
      fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken, signals: ['SIGUSR2'] });
      process.kill(process.pid, 'SIGUSR2');
      await fastphone.done;
      expect(record.voice_url).to.equal(OLD_VOICE_URL);
      expect(existsSync(stateFile)).to.equal(false);
      expect(lines).to.include('SIGUSR2: restoring +15550001111 and stopping...');
      expect(process.listeners('SIGUSR2')).to.deep.equal([keepAlive]);
    } finally {
      process.off('SIGUSR2', keepAlive);
    }
  });

  it('keeps the state file for --restore when restoring fails, and still closes everything', async () => {
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken });
    api.failNext('GET', /IncomingPhoneNumbers\/PN/, { status: 503, code: 20503, message: 'Service Unavailable' });
    const error = await rejection(fastphone.stop());
    expect(error.code).to.equal('TWILIO_ERROR');
    expect(error.message).to.match(/^Could not restore \+15550001111: Twilio refused to read the phone number PN\w+: Service Unavailable \(HTTP 503, error 20503\)\.$/);
    expect(error.hint).to.contain('callstream fastphone --restore');
    expect(existsSync(stateFile)).to.equal(true);
    expect(await fetch(`${fastphone.running.url}/status`).then(() => 'answered', () => 'refused')).to.equal('refused');
    fastphone = undefined;
  });

  it('uses a fixed public URL and a mount path instead of a tunnel', async () => {
    fastphone = await startFastphone(stream, { ...common(), authToken: api.authToken, tunnel: new FixedUrlTunnel('https://voice.example.test'), path: '/voice' });
    expect(record.voice_url).to.equal('https://voice.example.test/voice/telephone/incoming');
    const hook = await postWebhook({
      baseUrl: fastphone.running.url,
      webhookPath: '/voice/telephone/incoming',
      publicUrl: 'https://voice.example.test',
      authToken: api.authToken,
      params: { CallSid: sid('CA') },
    });
    expect(hook.status).to.equal(200);
    expect(hook.streamUrl).to.equal('wss://voice.example.test/voice/telephone/handler');
    await fastphone.stop();
    expect(record.voice_url).to.equal(OLD_VOICE_URL);
  });
});
