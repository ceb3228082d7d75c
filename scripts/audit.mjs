#!/usr/bin/env node
// Dependency audit for CI: `npm audit` of the production dependencies, failing (exit 1) on any high or
// critical advisory and listing them. When the advisory service cannot be reached (some registry
// mirrors answer its POST with 405), it says so and exits 0: an unreachable service is not a finding.
// AUDIT_STRICT=1 makes that case fail too.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  report = undefined;
}

const counts = report?.metadata?.vulnerabilities;
if (!counts) {
  const why = report?.message ?? run.stderr.trim().split('\n').pop() ?? `npm audit exited ${run.status}`;
  console.log(`npm audit (production dependencies): not judged, the advisory service could not be reached: ${why}`);
  process.exit(process.env.AUDIT_STRICT === '1' ? 1 : 0);
}

const serious = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === 'high' || v.severity === 'critical');
console.log(
  `npm audit (production dependencies): ${counts.critical} critical, ${counts.high} high, ${counts.moderate} moderate, ${counts.low} low`,
);
for (const v of serious) {
  const titles = v.via.filter((via) => typeof via === 'object').map((via) => `${via.title} (${via.url})`);
  console.log(`  ${v.severity}: ${v.name} ${v.range}${titles.length ? ` - ${titles.join('; ')}` : ` (through ${v.via.join(', ')})`}`);
}
process.exit(serious.length > 0 ? 1 : 0);
