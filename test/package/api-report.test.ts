import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/**
 * The public API, as a consumer's TypeScript sees it, is what api/*.api.md says: a change to it is a
 * decision (npm run api:update, and a line in CHANGELOG.md), never a side effect of moving code.
 * Emits the declarations and runs API Extractor: about 30 s of CPU.
 */
describe('package: the public API report', function () {
  this.timeout(180_000);

  it('matches api/*.api.md (npm run api:check)', async () => {
    const result = await run(process.execPath, [path.join(ROOT, 'scripts/api-report.mjs')], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '' }),
    );
    expect(result.code, result.stdout).to.equal(0);
    expect(result.stdout).to.include('the public API is unchanged');
  });
});
