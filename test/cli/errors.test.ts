import net from 'node:net';
import { expect } from 'chai';
import { callCommand } from '../../src/cli/call-command.js';
import { exitCodeFor, reportError } from '../../src/cli/exit.js';
import { fastphoneCommand } from '../../src/cli/fastphone-command.js';
import { serveCommand } from '../../src/cli/serve-command.js';
import { runCli } from '../support/cli.js';

/** Environment variables the commands read, emptied so that only the flags count. */
const CLEAN_ENV = { CALLSTREAM_HANDLER: '', HOST: '', PORT: '', CONCURRENCY_LIMIT: '', TIME_LIMIT: '', WEB_CONCURRENCY: '', REDIS_URL: '', INSTANCE_ID: '', DYNO: '' };

const COMMANDS = {
  serve: { run: serveCommand, required: [] as string[] },
  fastphone: { run: fastphoneCommand, required: [] as string[] },
  call: { run: callCommand, required: ['--to', '+15551234567'] },
};

/** What the parser of Node (util.parseArgs) says in its own words: none of it may reach a user. */
const PARSER_TEXT = /ambiguous|argument missing|--port=-XYZ|Unknown option|Unexpected argument|positional|ERR_PARSE_ARGS/;

/** The exit code and the stderr text a command's error gives (as main.ts reports it). */
async function failure(command: keyof typeof COMMANDS, args: string[]): Promise<{ code: number; text: string }> {
  const { run, required } = COMMANDS[command];
  let error: unknown;
  try {
    await run([...args, ...required]);
  } catch (caught) {
    error = caught;
  }
  expect(error, `${command} ${args.join(' ')} fails`).to.be.instanceOf(Error);
  let text = '';
  reportError(error, (line) => (text += line));
  return { code: exitCodeFor(error), text };
}

describe('CLI errors: one style, "callstream: <what is wrong>" and a hint, exit 2 for usage errors', function () {
  // The bin runs from its TypeScript sources (tsx): a start can take seconds on a busy machine.
  this.timeout(90_000);
  const saved = process.env.PORT;
  before(() => delete process.env.PORT);
  after(() => {
    if (saved !== undefined) process.env.PORT = saved;
  });

  const cases: { args: string[]; text: (command: string) => string }[] = [
    { args: ['--port', '-1'], text: () => 'callstream: invalid --port "-1".\nhint: use a number between 0 and 65535 (0 picks a free port).\n' },
    { args: ['--port', '1.5'], text: () => 'callstream: invalid --port "1.5".\nhint: use a number between 0 and 65535 (0 picks a free port).\n' },
    { args: ['--port=70000'], text: () => 'callstream: invalid --port "70000".\nhint: use a number between 0 and 65535 (0 picks a free port).\n' },
    { args: ['--port'], text: (c) => `callstream: --port needs a value.\nhint: write --port VALUE (or --port=VALUE); run "callstream ${c} --help" for its options.\n` },
    { args: ['--port', '--host', '127.0.0.1'], text: (c) => `callstream: --port needs a value.\nhint: write --port VALUE (or --port=VALUE); run "callstream ${c} --help" for its options.\n` },
    { args: ['--frobnicate'], text: (c) => `callstream: unknown option --frobnicate.\nhint: run "callstream ${c} --help" for its options.\n` },
    { args: ['-x'], text: (c) => `callstream: unknown option -x.\nhint: run "callstream ${c} --help" for its options.\n` },
    { args: ['stray'], text: (c) => `callstream: unexpected argument "stray".\nhint: run "callstream ${c} --help" for its options.\n` },
    { args: ['--insecure=yes'], text: (c) => `callstream: --insecure takes no value.\nhint: run "callstream ${c} --help" for its options.\n` },
    { args: ['--handler', 'nope'], text: () => 'callstream: invalid --handler "nope".\nhint: choose one of: reply-echo, echo, echo-pcm16, openai-realtime, conference, desk, invert, flip.\n' },
  ];

  for (const { args, text } of cases) {
    it(`${args.join(' ')}: the same words and exit 2 from every command`, async () => {
      for (const command of Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]) {
        // serve has no --insecure: its switch is --trust-proxy.
        const given = command === 'serve' ? args.map((a) => a.replace('--insecure', '--trust-proxy')) : args;
        const expected = command === 'serve' ? text(command).replace(/--insecure/g, '--trust-proxy') : text(command);
        const { code, text: said } = await failure(command, given);
        expect(said, `${command} ${given.join(' ')}`).to.equal(expected);
        expect(said).to.not.match(PARSER_TEXT);
        expect(code, `${command} ${given.join(' ')}`).to.equal(2);
      }
    });
  }

  it('prints exactly those two lines on stderr, nothing on stdout, and exits 2 (the bin, each command)', async () => {
    const runs = ([['serve', []], ['fastphone', []], ['call', ['--to', '+15551234567']]] as const).map(([command, required]) => [command, runCli([command, '--port', '-1', ...required], CLEAN_ENV)] as const);
    for (const [command, cli] of runs) {
      const { code } = await cli.exited;
      expect(code, command).to.equal(2);
      expect(cli.stderr.join(''), command).to.equal('callstream: invalid --port "-1".\nhint: use a number between 0 and 65535 (0 picks a free port).\n');
      expect(cli.lines, command).to.deep.equal([]);
    }
  });

  it('a port in use: names it and how to pick another, alone on stderr (no log line before it), exit 3', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const cli = runCli(['serve', '--host', '127.0.0.1', '--port', String(port)], CLEAN_ENV);
      expect((await cli.exited).code).to.equal(3);
      expect(cli.stderr.join('')).to.equal(`callstream: port ${port} is in use on 127.0.0.1 (EADDRINUSE).\nhint: another program listens there: pick another port with --port or PORT; 0 picks a free one.\n`);
      expect(cli.lines).to.deep.equal([]);
    } finally {
      taken.close();
    }
  });
});
