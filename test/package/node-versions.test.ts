import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** semver, as npm itself uses it (a dependency of jsonwebtoken here; it ships no types). */
const semver = createRequire(import.meta.url)('semver') as {
  subset(sub: string, dom: string): boolean;
  minVersion(range: string): { major: number; version: string } | null;
};

/** The Node lines .ci/node-versions runs by default. */
function ciNodeLines(): number[] {
  const line = /^NODE_LINES=\$\{\*:-\$\{NODE_LINES:-([\d ]+)\}\}$/m.exec(read('.ci/node-versions'));
  expect(line, 'NODE_LINES in .ci/node-versions').to.not.equal(null);
  return line![1]!.trim().split(/\s+/).map(Number);
}

/** A bash array of .ci/node-versions (UNIT_FILES, E2E_FILES), its entries unquoted. */
function ciFiles(name: string): string[] {
  const body = new RegExp(`^${name}=\\(\\n?([\\s\\S]*?)\\)$`, 'm').exec(read('.ci/node-versions'));
  expect(body, name).to.not.equal(null);
  return body![1]!.replace(/#.*$/gm, '').split(/\s+/).filter(Boolean).map((entry) => entry.replace(/^'|'$/g, ''));
}

/** Files of the checkout matching a pattern with `**` and `*` (the globs mocha is given). */
function matching(pattern: string): string[] {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*')}$`);
  const base = pattern.slice(0, pattern.indexOf('*') === -1 ? pattern.length : pattern.indexOf('*')).replace(/[^/]*$/, '');
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(`${dir}${entry.name}/`) : [`${dir}${entry.name}`]));
  return walk(base).filter((file) => regex.test(file));
}

/** `engines` says what the code and its production dependencies support, and CI runs those lines. */
describe('package: the Node versions engines names, the docs name and CI runs', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const lines = ciNodeLines();

  it('.ci/run runs .ci/node-versions, whose Node lines are the LTS lines 22, 24 and 26', () => {
    expect(read('.ci/run')).to.match(/^\s*\.ci\/node-versions$/m);
    expect(lines).to.deep.equal([22, 24, 26]);
  });

  it('engines starts at the oldest line CI runs (and claims no older Node)', () => {
    expect(semver.minVersion(engines)!.major).to.equal(Math.min(...lines));
    for (const line of lines) expect(semver.subset(`^${line}.99.0`, engines), `Node ${line}`).to.equal(true);
  });

  it("engines asks at least what every production dependency's engines asks", () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }> };
    const stricter: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const node = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (!where || entry.dev || !node) continue;
      if (!semver.subset(engines, node)) stricter.push(`${where.replace(/^.*node_modules\//, '')}: ${node}`);
    }
    expect(stricter).to.deep.equal([]);
  });

  it('README and getting-started name the version engines gives and the lines CI runs', () => {
    const minimum = semver.minVersion(engines)!.version.replace(/\.0$/, '');
    for (const doc of ['README.md', 'docs/getting-started.md']) {
      expect(read(doc), doc).to.contain(`${minimum} or later`);
      expect(read(doc), doc).to.contain(`${lines.slice(0, -1).join(', ')} and ${lines.at(-1)}`);
    }
  });

  it('every file .ci/node-versions gives mocha exists (a moved test fails here, not silently there)', () => {
    const files = [...ciFiles('UNIT_FILES'), ...ciFiles('E2E_FILES')];
    expect(files.length).to.be.above(10);
    expect(files.filter((pattern) => matching(pattern).length === 0)).to.deep.equal([]);
  });
});
