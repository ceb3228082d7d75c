/**
 * Counts of the reliability suite (forgeries tried/refused, fuzz cases, faults, sessions survived):
 * each describe prints its own line after its tests (`reportAfter`), and the whole run ends with the
 * totals of every tally, whatever files ran.
 */
export type Counts = Record<string, number>;

const tallies = new Map<string, Counts>();

/** The counters of one area (created at zero); the same name gives the same counters. */
export function tally(name: string): Counts {
  let counts = tallies.get(name);
  if (!counts) {
    counts = {};
    tallies.set(name, counts);
  }
  return counts;
}

/** Adds `n` to a counter. */
export function count(counts: Counts, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

function format(counts: Counts): string {
  return Object.entries(counts)
    .map(([key, value]) => `${value} ${key}`)
    .join(', ');
}

/** Prints one line with `counts` after the enclosing describe's tests. */
export function reportAfter(title: string, counts: Counts): void {
  after(() => {
    process.stdout.write(`      [${title}] ${format(counts) || 'nothing counted'}\n`);
  });
}

// Root hook: the totals, once, at the end of the run.
after(() => {
  if (tallies.size === 0) return;
  process.stdout.write('\n  reliability counts:\n');
  for (const [name, counts] of tallies) process.stdout.write(`    ${name}: ${format(counts)}\n`);
});
