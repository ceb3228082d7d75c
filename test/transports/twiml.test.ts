import { expect } from 'chai';
import { connectTwiml, rejectTwiml, sayAndHangUpTwiml } from '../../src/transports/telephone/twiml.js';
import { parseTwiml } from '../support/twilio-call.js';

describe('TwiML', () => {
  it('builds <Connect><Stream> with escaped parameters, greeting and goodbye', () => {
    const xml = connectTwiml({
      streamUrl: 'wss://voice.example.test/app/telephone/handler',
      parameters: { token: 'a&b"c', lang: 'fr' },
      greeting: 'Hello',
      goodbye: 'Bye',
    });
    expect(xml).to.equal(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say><Connect><Stream url="wss://voice.example.test/app/telephone/handler">' +
        '<Parameter name="token" value="a&amp;b&quot;c"/><Parameter name="lang" value="fr"/></Stream></Connect><Say>Bye</Say></Response>',
    );
    expect(parseTwiml(xml).parameters).to.deep.equal({ token: 'a&b"c', lang: 'fr' });
  });

  it('builds a busy rejection', () => {
    expect(rejectTwiml()).to.contain('<Reject reason="busy"/>');
  });

  it('says a sentence and hangs up', () => {
    expect(sayAndHangUpTwiml('No video on the phone.')).to.match(/<Say>No video on the phone.<\/Say><Hangup\/>/);
  });
});
