import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ROOT } from '../support/cli.js';

interface Lockfile {
  packages: Record<string, { version?: string; dev?: boolean }>;
}

function atLeast(version: string, floor: string): boolean {
  const a = version.split('.').map(Number);
  const b = floor.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/**
 * Advisories fixed by hand, kept fixed. `npm audit` (in .ci/run) is the real check, but its advisory
 * service is not reachable from every registry mirror; this one needs only the lockfile.
 */
describe('security: patched dependencies in the lockfile', () => {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;

  it('has no axios older than 1.13.5 anywhere (localtunnel pins 0.21.4: overridden in package.json)', () => {
    const copies = Object.entries(lock.packages).filter(([where]) => where === 'node_modules/axios' || where.endsWith('/node_modules/axios'));
    expect(copies.length).to.be.greaterThan(0);
    for (const [where, { version }] of copies) expect(atLeast(version ?? '0', '1.13.5'), `${where}@${version}`).to.equal(true);
  });
});
