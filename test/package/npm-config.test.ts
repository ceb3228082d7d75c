import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('package: npm commands in this project print no warning of ours', function () {
  this.timeout(30000);

  it('has no project config npm does not know (npm warned on every command, npm start included)', async () => {
    const { stdout, stderr } = await promisify(execFile)('npm', ['pkg', 'get', 'name'], { cwd: ROOT, env: { ...process.env, npm_config_loglevel: 'warn' } });
    expect(stdout.trim()).to.equal('"callstream"');
    expect(stderr).to.not.match(/npm warn/i);
  });

  it("keeps onnxruntime-node's install script from running (its CPU binaries ship in the package; the script fetches CUDA ones)", async () => {
    const { allowScripts } = (await import(path.join(ROOT, 'package.json'), { with: { type: 'json' } })).default as { allowScripts?: Record<string, boolean> };
    expect(allowScripts?.['onnxruntime-node']).to.equal(false);
  });
});
