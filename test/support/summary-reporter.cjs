// Mocha reporter: the spec reporter's output, then one plain line "N passed, N failed", and the same
// counts in test-output/summary.json (read by .ci/run, so a run that executed no test shows as such).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = runner.stats || {};
      const dir = path.resolve('test-output');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ passes, failures, pending }) + '\n');
      process.stdout.write(`\n${passes} passed, ${failures} failed\n`);
    });
  }
}

module.exports = SummaryReporter;
