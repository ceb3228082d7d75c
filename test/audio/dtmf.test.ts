import { expect } from 'chai';
import { dtmfFrequencies, dtmfTones } from '../../src/audio/dtmf.js';
import { mulawDecode, mulawEncode } from '../../src/audio/mulaw.js';
import { decodeDtmf } from '../support/goertzel.js';

describe('in-band DTMF (Q.23)', () => {
  it('uses the Q.23 frequency pairs', () => {
    expect(dtmfFrequencies('1')).to.deep.equal([697, 1209]);
    expect(dtmfFrequencies('#')).to.deep.equal([941, 1477]);
    expect(dtmfFrequencies('D')).to.deep.equal([941, 1633]);
    expect(dtmfFrequencies('x')).to.equal(undefined);
  });

  it('generates tones a Goertzel decoder reads back, through μ-law too', () => {
    const digits = '0123456789*#ABCD';
    const pcm = dtmfTones(digits, 8000);
    expect(pcm.length).to.equal(digits.length * 1600);
    expect(decodeDtmf(pcm, 8000)).to.equal(digits);
    expect(decodeDtmf(mulawDecode(mulawEncode(pcm)), 8000)).to.equal(digits);
  });

  it('pauses on w and refuses other characters', () => {
    expect(dtmfTones('1w2', 8000).length).to.equal(1600 + 4000 + 1600);
    expect(() => dtmfTones('12x', 8000)).to.throw(/not a DTMF digit/);
  });
});
