#!/usr/bin/env node
// The public API report: what `callstream`, `callstream/handlers` and `callstream/tunnels` declare to
// a consumer, as API Extractor sees it (api/*.api.md). The declarations are emitted afresh into a
// folder of test-output/, so dist/ is neither needed nor touched.
//   node scripts/api-report.mjs           check: exit 1 and print the difference when the API changed
//   node scripts/api-report.mjs --update  write the new reports (a change to them is a decision:
//                                         say it in CHANGELOG.md)
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPORTS = path.join(ROOT, 'api');
const ENTRY_POINTS = [
  { report: 'callstream', entry: 'src/index.d.ts' },
  { report: 'callstream-handlers', entry: 'handlers/index.d.ts' },
  { report: 'callstream-tunnels', entry: 'tunnels/index.d.ts' },
];
const update = process.argv.includes('--update');

// Inside the project (and ignored by git), so the report's file names do not depend on a temporary path.
const out = path.join(ROOT, 'test-output', 'api');
rmSync(out, { recursive: true, force: true });
try {
  const tsc = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--sourceMap', 'false', '--outDir', out],
    { encoding: 'utf8' },
  );
  if (tsc.status !== 0) {
    console.error(tsc.stdout, tsc.stderr);
    process.exit(2);
  }
  let changed = [];
  for (const { report, entry } of ENTRY_POINTS) {
    const config = ExtractorConfig.prepare({
      configObjectFullPath: path.join(ROOT, 'api', 'api-extractor.json'),
      packageJsonFullPath: path.join(ROOT, 'package.json'),
      configObject: {
        projectFolder: ROOT,
        mainEntryPointFilePath: path.join(out, entry),
        compiler: { tsconfigFilePath: path.join(ROOT, 'tsconfig.build.json') },
        apiReport: { enabled: true, reportFileName: report, reportFolder: REPORTS, reportTempFolder: path.join(out, 'reports') },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: 'warning' } },
          extractorMessageReporting: {
            default: { logLevel: 'warning' },
            'ae-missing-release-tag': { logLevel: 'none' },
            'ae-internal-missing-underscore': { logLevel: 'none' },
            'ae-undocumented': { logLevel: 'none' },
            // A type the API uses but the entry point does not export is part of the API too: listed in the report.
            'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
    });
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false, messageCallback: quiet });
    if (result.errorCount > 0) {
      console.error(`api-report: API Extractor failed on ${entry} (${result.errorCount} errors)`);
      process.exit(2);
    }
    if (result.apiReportChanged) changed.push(report);
  }
  if (changed.length === 0) {
    console.log('api-report: the public API is unchanged');
  } else if (update) {
    console.log(`api-report: updated ${changed.map((r) => `api/${r}.api.md`).join(', ')}: say the change in CHANGELOG.md`);
  } else {
    for (const report of changed) {
      const diff = spawnSync('git', ['diff', '--no-index', '--', path.join(REPORTS, `${report}.api.md`), path.join(out, 'reports', `${report}.api.md`)], { encoding: 'utf8' });
      console.log(diff.stdout);
    }
    console.log(`api-report: the public API changed (${changed.join(', ')}). If on purpose: npm run api:update, and say it in CHANGELOG.md.`);
    process.exitCode = 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

/** Keeps the run's own chatter (TypeScript version, progress) out of the output; warnings and errors stay. */
function quiet(message) {
  if (message.logLevel === 'info' || message.logLevel === 'verbose') message.handled = true;
}
