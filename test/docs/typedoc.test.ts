import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface TypedocConfig {
  entryPoints: string[];
  validation: { notExported: boolean };
  treatWarningsAsErrors: boolean;
}

/** Runs TypeDoc as `npm run docs` does, without writing the site; resolves with its exit code and output. */
function typedoc(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin/typedoc'), ['--emit', 'none'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * The API reference (`npm run docs`, docs/api/) is built from the JSDoc of the three public entry
 * points. An exported symbol that refers to a type the reference cannot show (not exported and not
 * listed as internal in typedoc.json) is a warning, and any warning fails.
 */
describe('docs: the API reference builds without warnings', function () {
  this.timeout(120_000);
  const config = JSON.parse(readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8')) as TypedocConfig;

  it('covers the three entry points package.json exports, with not-exported checks on and warnings as errors', () => {
    expect(config.entryPoints).to.deep.equal(['src/index.ts', 'handlers/index.ts', 'tunnels/index.ts']);
    expect(config.validation.notExported).to.equal(true);
    expect(config.treatWarningsAsErrors).to.equal(true);
  });

  it('runs typedoc with no warning and no error', async () => {
    const { code, output } = await typedoc();
    const problems = output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
    expect(problems, output).to.deep.equal([]);
    expect(code, output).to.equal(0);
  });
});
