import { expect } from 'chai';
import { twilioMediaPayload } from '../../src/transports/telephone/media-message.js';

const payload = Buffer.alloc(160, 0x55).toString('base64');
const SID = 'MZ18ad3ab5a668481ce02b83e7395059f0';

describe("telephone: Twilio's media message read without the JSON parser", () => {
  it('reads the payload of a media message in Twilio\'s shape (streamSid after or before media)', () => {
    const after = `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}"},"streamSid":"${SID}"}`;
    const before = `{"event":"media","sequenceNumber":"3","streamSid":"${SID}","media":{"track":"outbound","chunk":"1","timestamp":"5","payload":"${payload}"}}`;
    expect(twilioMediaPayload(after)).to.deep.equal({ track: 'inbound', payload });
    expect(twilioMediaPayload(before)).to.deep.equal({ track: 'outbound', payload });
    expect(JSON.parse(after).media.payload).to.equal(payload);
  });

  it('leaves anything else to the full parser', () => {
    const cases = [
      `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}"}}`, // no streamSid
      `{"event":"media","sequenceNumber":"3","streamSid":"${SID}","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}"},"streamSid":"${SID}"}`, // two
      `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}","extra":1},"streamSid":"${SID}"}`,
      `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"not base64!"},"streamSid":"${SID}"}`,
      `{"event":"media", "sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}"},"streamSid":"${SID}"}`, // a space
      `{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"${payload}"},"streamSid":"${SID}"} `,
      `{"event":"mark","sequenceNumber":"3","mark":{"name":"x"},"streamSid":"${SID}"}`,
      `{"event":"media","sequenceNumber":"3","media":{"track":"inbound\\u0000","chunk":"1","timestamp":"5","payload":"${payload}"},"streamSid":"${SID}"}`,
    ];
    for (const text of cases) expect(twilioMediaPayload(text), text).to.equal(undefined);
  });
});
