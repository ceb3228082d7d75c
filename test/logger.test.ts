import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger, logFormat } from '../src/logger.js';

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logs: readable at a terminal, JSON elsewhere', () => {
  it('picks readable lines for a terminal and JSON for pipes, unless LOG_FORMAT says', () => {
    expect(logFormat({}, true)).to.equal('pretty');
    expect(logFormat({}, false)).to.equal('json');
    expect(logFormat({ LOG_FORMAT: 'json' }, true)).to.equal('json');
    expect(logFormat({ LOG_FORMAT: 'PRETTY' }, false)).to.equal('pretty');
    expect(logFormat({ LOG_FORMAT: 'fancy' }, false)).to.equal('json');
  });

  it('writes one readable line per entry, secrets still redacted', () => {
    const out = capture();
    const log = createLogger({ format: 'pretty', destination: out.stream as never, level: 'info' });
    log.info({ sessionId: 'abc', secret: 's3cr3t' }, 'session started');
    const lines = out.text().trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: session started/);
    expect(lines[0]).to.contain('sessionId').and.contain('[redacted]').and.not.contain('s3cr3t');
    expect(() => JSON.parse(lines[0]!)).to.throw();
  });

  it('writes JSON lines when asked', () => {
    const out = capture();
    const log = createLogger({ format: 'json', destination: out.stream as never });
    log.info({ sessionId: 'abc' }, 'session started');
    expect(JSON.parse(out.text())).to.include({ msg: 'session started', sessionId: 'abc' });
  });
});
