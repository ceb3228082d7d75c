import { expect } from 'chai';
import { CallstreamError } from '../../src/errors.js';
import type { TwilioClient } from '../../src/twilio/client.js';
import { checkRoutable, findPhoneNumber, listPhoneNumbers, normalizePhoneNumber, updateVoiceSettings } from '../../src/twilio/numbers.js';
import { streamVoiceSettings } from '../../src/twilio/routing.js';
import { FakeTwilioApi } from '../support/fake-twilio.js';
import { rejection } from '../support/rejection.js';

describe('twilio: phone numbers', () => {
  let api: FakeTwilioApi;
  let client: TwilioClient;

  beforeEach(async () => {
    api = await FakeTwilioApi.start();
    client = api.client();
  });

  afterEach(() => api.close());

  it('uses the account\'s only number when none is asked for', async () => {
    const record = api.addNumber('+15550001111', { voice_url: 'https://old.example.com/voice', voice_fallback_url: null });
    const number = await findPhoneNumber(client);
    expect(number.sid).to.equal(record.sid);
    expect(number.phoneNumber).to.equal('+15550001111');
    expect(number.voice).to.deep.equal({
      voiceUrl: 'https://old.example.com/voice',
      voiceMethod: 'POST',
      voiceFallbackUrl: '',
      voiceFallbackMethod: 'POST',
      statusCallback: '',
      statusCallbackMethod: 'POST',
    });
  });

  it('finds the number asked for, written any usual way, with the PhoneNumber filter', async () => {
    api.addNumber('+15550001111');
    const wanted = api.addNumber('+15550002222');
    const number = await findPhoneNumber(client, '+1 (555) 000-2222');
    expect(number.sid).to.equal(wanted.sid);
    expect(api.requests[0]!.query.PhoneNumber).to.equal('+15550002222');
  });

  it('lists the account\'s numbers when there is no single answer', async () => {
    api.addNumber('+15550001111', { friendly_name: 'Support line' });
    api.addNumber('+15550002222');
    const several = await rejection(findPhoneNumber(client));
    expect(several.code).to.equal('CONFIG_ERROR');
    expect(several.message).to.equal('This account has 2 phone numbers: +15550001111 "Support line", +15550002222. Which one?');
    expect(several.hint).to.contain('--number +15550001111');
    const missing = await rejection(findPhoneNumber(client, '+15559999999'));
    expect(missing.message).to.equal('+15559999999 is not one of this account\'s phone numbers (+15550001111 "Support line", +15550002222).');
  });

  it('says so when the account has no number', async () => {
    const none = await rejection(findPhoneNumber(client));
    expect(none.message).to.equal('This Twilio account has no phone numbers.');
    expect(none.hint).to.contain('Buy a number');
  });

  it('refuses what is not an E.164 number', () => {
    expect(normalizePhoneNumber('+44 20 7946 0000')).to.equal('+442079460000');
    for (const bad of ['5550001111', '+0555', 'call me', '+1555abc']) expect(() => normalizePhoneNumber(bad), bad).to.throw(CallstreamError, /E\.164/);
  });

  it('follows Twilio\'s paging', async () => {
    for (let i = 0; i < 130; i++) api.addNumber(`+1555100${String(i).padStart(4, '0')}`);
    const numbers = await listPhoneNumbers(client);
    expect(numbers).to.have.length(130);
    expect(api.requests.map((r) => r.query.Page ?? '0')).to.deep.equal(['0', '1']);
  });

  it('refuses numbers whose voice URL Twilio would ignore: TwiML App, SIP trunk; and numbers without voice', async () => {
    api.addNumber('+15550001111', { voice_application_sid: 'AP0123456789abcdef0123456789abcdef' });
    api.addNumber('+15550002222', { trunk_sid: 'TK0123456789abcdef0123456789abcdef' });
    api.addNumber('+15550003333', { capabilities: { voice: false, sms: true, mms: false, fax: false } });
    api.addNumber('+15550004444', { voice_application_sid: '' });
    const app = await findPhoneNumber(client, '+15550001111');
    expect(() => checkRoutable(app)).to.throw(CallstreamError, /TwiML App AP0123456789abcdef0123456789abcdef, so Twilio would ignore a voice URL; nothing was changed/);
    const trunk = await findPhoneNumber(client, '+15550002222');
    expect(() => checkRoutable(trunk)).to.throw(CallstreamError, /SIP trunk TK0123456789abcdef0123456789abcdef/);
    const smsOnly = await findPhoneNumber(client, '+15550003333');
    expect(() => checkRoutable(smsOnly)).to.throw(CallstreamError, /cannot receive voice calls/);
    checkRoutable(await findPhoneNumber(client, '+15550004444'));
  });

  it('updates voice settings with the helper\'s form body, and points a number at a Stream', async () => {
    const record = api.addNumber('+15550001111');
    const settings = streamVoiceSettings('https://abcd.loca.lt', '/voice');
    expect(settings).to.deep.equal({
      voiceUrl: 'https://abcd.loca.lt/voice/telephone/incoming',
      voiceMethod: 'POST',
      statusCallback: 'https://abcd.loca.lt/voice/telephone/status',
      statusCallbackMethod: 'POST',
    });
    const updated = await updateVoiceSettings(client, record.sid, settings);
    expect(updated.voice.voiceUrl).to.equal('https://abcd.loca.lt/voice/telephone/incoming');
    const [post] = api.requestsTo('POST', record.sid);
    expect(post!.form).to.deep.equal({
      VoiceUrl: 'https://abcd.loca.lt/voice/telephone/incoming',
      VoiceMethod: 'POST',
      StatusCallback: 'https://abcd.loca.lt/voice/telephone/status',
      StatusCallbackMethod: 'POST',
    });
    const missing = await rejection(updateVoiceSettings(client, 'PN00000000000000000000000000000000', settings));
    expect(missing.message).to.match(/^Twilio refused to update the phone number PN0+: The requested resource .* was not found \(HTTP 404, error 20404\)\.$/);
  });
});
