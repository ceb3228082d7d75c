// Mutation testing of session/, transports/telephone/ and http/: `npm run mutate`. Not part of
// `npm test` or CI (a full run takes an hour or more on two cores). Reports: test-output/mutation/.
//
// StrykerJS 9.6.1 with its command runner (the mocha runner does not support mocha 12), so there is
// no per-test coverage: every mutant runs the whole command below. The command therefore runs only
// the fast, unit-level files that cover these folders, stops at the first failure (--bail), and
// leaves out by name the three paced telephone tests that play 2-3 s of audio in real time.

const tests = [
  "'test/session/*.test.ts'",
  "'test/http/*.test.ts'",
  'test/transports/telephone.test.ts',
  'test/transports/telephone-status.test.ts',
  'test/transports/telephone-bad-input.test.ts',
  'test/transports/media-message.test.ts',
  'test/transports/twiml.test.ts',
  'test/transports/wire.test.ts',
];
const slow = 'echoes a call|16 kHz PCM handler|well past a shortened';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: {
    // The sandbox is test-output/mutation/.stryker-tmp/<sandbox>/: mocha is four levels up, and the
    // tests find their modules by Node's upward lookup (node_modules here is a symlink, which
    // Stryker would not link into the sandbox).
    command: `../../../../node_modules/.bin/mocha --exit --bail --reporter dot ${tests.join(' ')} --grep '${slow}' --invert`,
  },
  coverageAnalysis: 'off',
  symlinkNodeModules: false,
  mutate: ['src/session/**/*.ts', 'src/transports/telephone/**/*.ts', 'src/http/**/*.ts'],
  ignorePatterns: ['test-output', 'dist', 'bench/results', '.callstream'],
  concurrency: 2,
  // One run takes ~5 s; a busy machine needs slack before a slow run counts as an endless loop.
  timeoutFactor: 2,
  timeoutMS: 8000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'test-output/mutation/index.html' },
  jsonReporter: { fileName: 'test-output/mutation/mutation.json' },
  tempDirName: 'test-output/mutation/.stryker-tmp',
};
