import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { packedTarball } from '../support/packed.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  exports: Record<string, { types: string; default: string }>;
  bin: Record<string, string>;
}

/** What a user's `npm install callstream` gets, and nothing else. */
const TOP_LEVEL = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
const PAGE_FILES = [
  'dist/src/ui/static/index.html',
  'dist/src/ui/static/app.js',
  'dist/src/ui/static/style.css',
  'dist/src/ui/static/favicon.svg',
  // The desk demo's page, beside dist/handlers/desk/desk-page.js which reads it.
  'dist/handlers/desk/static/desk.html',
  'dist/handlers/desk/static/desk.js',
  'dist/handlers/desk/static/desk.css',
];
const COMPILED = /^dist\/(src|handlers|tunnels)\/.+(?<!\.d)\.js$|^dist\/(src|handlers|tunnels)\/.+\.d\.ts$/;

/**
 * The tarball as `npm pack` makes it (test/support/packed.ts, shared with the consumer test: one build).
 */
describe('package: what npm pack ships', function () {
  this.timeout(180_000);
  let shipped: string[];
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

  before(async () => {
    shipped = (await packedTarball()).files;
  });

  it('holds README.md, LICENSE, CHANGELOG.md and package.json', () => {
    for (const name of TOP_LEVEL) expect(shipped, name).to.include(name);
  });

  it('holds nothing outside dist/ but those four files', () => {
    const outside = shipped.filter((file) => !file.startsWith('dist/') && !TOP_LEVEL.includes(file));
    expect(outside).to.deep.equal([]);
  });

  it('holds no TypeScript source, tests, benchmarks, deploy files or docs', () => {
    const forbidden = shipped.filter((file) => /^(src|handlers|tunnels|test|bench|deploy|docs|examples|scripts|types)\//.test(file) || (file.endsWith('.ts') && !file.endsWith('.d.ts')));
    expect(forbidden).to.deep.equal([]);
  });

  it('holds in dist/ only compiled JS and declarations of src/, handlers/, tunnels/, and the page', () => {
    const other = shipped.filter((file) => file.startsWith('dist/') && !COMPILED.test(file) && !PAGE_FILES.includes(file));
    expect(other).to.deep.equal([]);
  });

  it('compiles only files that have a source (no test/ or bench/ code, nothing stale)', () => {
    const orphans = shipped
      .filter((file) => COMPILED.test(file) && !PAGE_FILES.includes(file))
      .map((file) => file.replace(/^dist\//, '').replace(/(\.d\.ts|\.js)$/, '.ts'))
      .filter((source) => !existsSync(path.join(ROOT, source)));
    expect(orphans).to.deep.equal([]);
  });

  it('holds the pages beside the built modules that read them (dist/src/ui/page.js and dist/handlers/desk/desk-page.js read ./static/)', () => {
    expect(shipped).to.include('dist/src/ui/page.js');
    expect(shipped).to.include('dist/handlers/desk/desk-page.js');
    for (const file of PAGE_FILES) expect(shipped, file).to.include(file);
  });

  it('holds every entry point package.json names: exports (code and types) and the bin', () => {
    const targets = [...Object.values(pkg.exports).flatMap((entry) => [entry.types, entry.default]), ...Object.values(pkg.bin)];
    expect(targets).to.have.length(7);
    for (const target of targets) expect(shipped, target).to.include(path.posix.normalize(target));
  });
});
