import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

const run = promisify(execFile);

export interface PackedTarball {
  /** The .tgz, in a temporary directory removed when the test process exits. */
  file: string;
  /** The paths it holds, sorted. */
  files: string[];
}

let packing: Promise<PackedTarball> | undefined;

/**
 * The package as `npm pack` makes it, once per test process: packing runs the `prepare` script
 * (the build), as publishing does, so dist/ is the one a release would ship.
 */
export function packedTarball(): Promise<PackedTarball> {
  packing ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'callstream-pack-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    // npm prints the build's output before the JSON when scripts write to stdout.
    const [result] = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1 || 0)) as { filename: string; files: { path: string }[] }[];
    return { file: path.join(dir, result!.filename), files: result!.files.map((f) => f.path).sort() };
  })();
  return packing;
}
