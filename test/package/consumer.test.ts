import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../support/cli.js';
import { packedTarball } from '../support/packed.js';

const run = promisify(execFile);

/**
 * What a new project gets: the newest @types/node (what `npm install @types/koa` pulls in) and
 * TypeScript, both the newest line with a JS API (the project's own, 5.9) and the newest release (7,
 * the native compiler). Pinned here and bumped on purpose: `npm view @types/node version`,
 * `npm view typescript version`.
 */
const CONSUMER_DEPENDENCIES = { koa: '3.3.0', '@types/koa': '3.0.3', '@types/node': '26.6.11' };
const NATIVE_TYPESCRIPT = '7.0.2';

/** A consumer's tsconfig.json: strict, Node's module resolution, and the libraries' .d.ts checked too. */
const TSCONFIG = {
  compilerOptions: { strict: true, target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false, noEmit: true, types: ['node'] },
  include: ['index.ts'],
};

/** The README's Koa snippet, as a user copies it, then every entry point of the package. */
function consumerSource(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Mount a Stream on your own Koa app'));
  const snippet = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  return `${snippet}\nimport * as handlers from 'callstream/handlers';\nimport * as tunnels from 'callstream/tunnels';\nexport const entryPoints = [handlers, tunnels];\n`;
}

/**
 * npm install from the cache when everything is there (every run after the first: the test works
 * offline), else from the registry; stopped by `signal` (the other install failed) or after 5 minutes.
 */
async function install(cwd: string, args: string[], signal: AbortSignal): Promise<void> {
  const base = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...args];
  const options = { cwd, signal, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 };
  try {
    await run('npm', [...base, '--offline'], options);
  } catch {
    signal.throwIfAborted();
    await run('npm', [...base, '--prefer-offline'], options);
  }
}

/** Runs a compiler on the project; resolves with its output (empty when it found nothing). */
async function typeCheck(tsc: string, cwd: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', '.'], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return '';
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}` || String(error);
  }
}

describe('package: a new project installs the packed tarball', function () {
  this.timeout(600_000);
  let project: string;
  let tools: string;

  before(async () => {
    const { file } = await packedTarball();
    project = mkdtempSync(path.join(os.tmpdir(), 'callstream-consumer-'));
    tools = mkdtempSync(path.join(os.tmpdir(), 'callstream-tsc-'));
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { callstream: `file:${file}`, ...CONSUMER_DEPENDENCIES } }));
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(path.join(project, 'index.ts'), consumerSource());
    writeFileSync(path.join(tools, 'package.json'), JSON.stringify({ name: 'tools', private: true }));
    // No optional dependencies in the project (onnxruntime-node is 290 MB and has no types); the
    // native compiler's binary is one, so it lives apart.
    const failed = new AbortController();
    await Promise.all([install(project, ['--omit=optional'], failed.signal), install(tools, [`typescript@${NATIVE_TYPESCRIPT}`], failed.signal)]).catch((error: unknown) => {
      failed.abort();
      throw error;
    });
  });

  after(() => {
    for (const dir of [project, tools]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`type-checks the README's snippet and every entry point, strict, skipLibCheck off, @types/node ${CONSUMER_DEPENDENCIES['@types/node']}: TypeScript 5.9 (the project's)`, async () => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    expect(JSON.parse(readFileSync(path.join(ROOT, 'node_modules/typescript/package.json'), 'utf8')).version).to.match(/^5\./);
    expect(await typeCheck(tsc, project)).to.equal('');
  });

  it(`... and TypeScript ${NATIVE_TYPESCRIPT} (the native compiler)`, async () => {
    expect(await typeCheck(path.join(tools, 'node_modules/typescript/bin/tsc'), project)).to.equal('');
  });

  it("require()s the package from a .cjs file (ESM only: Node's require(esm), Node >= 20.19 / 22.12)", async () => {
    writeFileSync(
      path.join(project, 'use.cjs'),
      "const { Stream, listen } = require('callstream');\nconst { EchoHandler } = require('callstream/handlers');\n" +
        "const { FixedUrlTunnel } = require('callstream/tunnels');\nconsole.log([Stream, listen, EchoHandler, FixedUrlTunnel].map((x) => typeof x).join(' '));\n",
    );
    const { stdout } = await run(process.execPath, ['use.cjs'], { cwd: project });
    expect(stdout.trim()).to.equal('function function function function');
  });
});
