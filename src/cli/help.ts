/**
 * One option's help line: the flag, then its text from `column` on; a flag too long for the column
 * gets a line of its own, its text below it at the column. Every command's Options list is aligned
 * this way (test/cli/help.test.ts checks it).
 */
export function helpLine(flag: string, text: string, column: number): string {
  const name = `  ${flag}`;
  return name.length < column ? name.padEnd(column) + text : `${name}\n${' '.repeat(column)}${text}`;
}

/** The usage lines of a command's help: from the line after "Usage:" to the first blank line. */
export function usageLines(help: string): string {
  const lines = help.split('\n');
  const start = lines.indexOf('Usage:') + 1;
  const end = lines.indexOf('', start);
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}
