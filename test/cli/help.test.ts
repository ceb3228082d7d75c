import { expect } from 'chai';
import { CALL_HELP, OPTIONS as CALL_OPTIONS } from '../../src/cli/call-command.js';
import { FASTPHONE_HELP, OPTIONS as FASTPHONE_OPTIONS } from '../../src/cli/fastphone-command.js';
import { usageLines } from '../../src/cli/help.js';
import { SERVE_HELP, OPTIONS as SERVE_OPTIONS } from '../../src/cli/serve-command.js';
import { runCli } from '../support/cli.js';

const COMMANDS = {
  serve: { help: SERVE_HELP, options: SERVE_OPTIONS },
  fastphone: { help: FASTPHONE_HELP, options: FASTPHONE_OPTIONS },
  call: { help: CALL_HELP, options: CALL_OPTIONS },
} as const;

/** The lines of a help's "Options:" section (up to the first blank line). */
function optionSection(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf('Options:') + 1;
  expect(start, 'an Options: section').to.be.above(0);
  return lines.slice(start, lines.indexOf('', start));
}

/** The flags an Options section describes: `--name` at the start of a line (after `-h, `). */
function describedFlags(section: string[]): string[] {
  return section.flatMap((line) => /^ {2}(?:-[a-z], )?--([a-z-]+)/.exec(line)?.[1] ?? []);
}

/** The column at which each option's description starts (the next line's, for a flag on a line of its own). */
function descriptionColumns(section: string[]): Map<string, number> {
  const columns = new Map<string, number>();
  section.forEach((line, i) => {
    const flag = /^ {2}((?:-[a-z], )?--[a-z-]+)( +)\S/.exec(line);
    if (flag) columns.set(flag[1]!, 2 + flag[1]!.length + flag[2]!.length);
    else if (/^ {2}(?:-[a-z], )?--[a-z-]+$/.test(line)) columns.set(line.trim(), /^ */.exec(section[i + 1] ?? '')![0].length);
  });
  return columns;
}

describe("CLI help: each command's help against its parser's options", function () {
  // The CLI runs from its TypeScript sources (tsx): a start can take seconds on a busy machine.
  this.timeout(90_000);

  for (const [command, { help, options }] of Object.entries(COMMANDS)) {
    const flags = Object.keys(options);

    it(`${command}: describes every option it parses, and only those`, () => {
      expect(describedFlags(optionSection(help)).sort()).to.deep.equal([...flags].sort());
    });

    it(`${command}: names every option it parses in its usage lines`, () => {
      const usage = usageLines(help);
      const missing = flags.filter((flag) => flag !== 'help' && !usage.includes(`--${flag}`));
      expect(missing).to.deep.equal([]);
      const unknown = [...usage.matchAll(/--([a-z-]+)/g)].map((m) => m[1]!).filter((flag) => !flags.includes(flag));
      expect(unknown).to.deep.equal([]);
    });

    it(`${command}: starts every option's description at the same column`, () => {
      const columns = descriptionColumns(optionSection(help));
      expect(columns.size).to.equal(flags.length);
      expect(new Set(columns.values()).size, JSON.stringify(Object.fromEntries(columns))).to.equal(1);
    });
  }

  it('callstream --help gives every command its usage lines, with every option each parses', async () => {
    const cli = runCli(['--help']);
    expect((await cli.exited).code).to.equal(0);
    const text = cli.lines.join('\n');
    for (const [command, { help, options }] of Object.entries(COMMANDS)) {
      expect(text, command).to.contain(usageLines(help));
      for (const flag of Object.keys(options)) if (flag !== 'help') expect(text, `${command} --${flag}`).to.contain(`--${flag}`);
    }
  });

  it('callstream COMMAND --help prints that command\'s help and exits 0', async () => {
    const runs = Object.entries(COMMANDS).map(([command, { help }]) => ({ command, help, cli: runCli([command, '--help']) }));
    for (const { command, help, cli } of runs) {
      expect((await cli.exited).code, command).to.equal(0);
      expect(cli.lines.join('\n') + '\n', command).to.equal(help.endsWith('\n') ? help : `${help}\n`);
    }
  });
});
