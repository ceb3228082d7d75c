import { expect } from 'chai';
import { closeReason, decodeBase64Strict } from '../../src/transports/wire.js';

describe('wire helpers', () => {
  it('decodes strict base64 and refuses anything else', () => {
    expect(decodeBase64Strict('AAEC')).to.deep.equal(Buffer.from([0, 1, 2]));
    expect(decodeBase64Strict('AAE=')).to.deep.equal(Buffer.from([0, 1]));
    for (const bad of ['AAE', 'A*EC', '!!!!', 'AA==AA==']) expect(decodeBase64Strict(bad), bad).to.equal(undefined);
  });

  it('keeps close reasons within 123 bytes', () => {
    expect(Buffer.byteLength(closeReason('é'.repeat(200)))).to.be.at.most(123);
    expect(closeReason('short')).to.equal('short');
  });
});

