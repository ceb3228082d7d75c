import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/**
 * The bin as the checkout has it after a build: `npm run build` (which `npm install`, `npm pack` and
 * this suite's pack tests run) recreates dist/, and `npx callstream` in the checkout runs that file
 * straight through its shebang, so it must come out executable every time.
 */
describe('package: the callstream bin runs after every build', function () {
  this.timeout(180_000);
  const { bin } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const file = path.join(ROOT, bin.callstream!);

  before(async () => {
    await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  });

  it('is executable by its owner, group and others', () => {
    expect((statSync(file).mode & 0o111).toString(8)).to.equal('111');
  });

  it('starts with a node shebang and runs as a program: --help, exit 0', async () => {
    expect(readFileSync(file, 'utf8').split('\n')[0]).to.equal('#!/usr/bin/env node');
    const { stdout } = await run(file, ['--help'], { cwd: ROOT });
    expect(stdout).to.match(/^callstream: serve a voice handler/);
    expect(stdout).to.contain('callstream serve');
  });
});
