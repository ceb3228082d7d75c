import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a benchmark scenario returns: figures, its baseline measured in the same run, and ratios. */
export interface BenchResult {
  title: string;
  /** Rows of figures: name → value (numbers are printed with their unit from the name). */
  figures: Record<string, number | string>;
  /** The same measure for the baseline, where there is one. */
  baseline?: Record<string, number | string>;
  /** Ratios against the baseline (what the goal is stated in); a string for a spread over runs. */
  ratios?: Record<string, number | string>;
  /** Goals met or not, in words. */
  goals?: Record<string, boolean>;
  notes?: string[];
  /** Raw measurements behind the figures: written to the JSON only. */
  data?: Record<string, unknown>;
}

const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export function machine(): Record<string, string | number> {
  const cpu = os.cpus()[0];
  return { node: process.version, cpu: cpu?.model ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.release()}` };
}

/** A figure as the bench prints it: strings as they are, numbers to 3 significant-ish digits. */
export function format(value: number | string): string {
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** How long a scenario took and how loaded the machine was around it (others' processes count in the load). */
export interface RunInfo {
  seconds: number;
  /** 1-, 5- and 15-minute load averages when the scenario began and when it ended. */
  loadBefore: number[];
  loadAfter: number[];
}

const loads = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');

/** Prints a result as a table and writes it as JSON under bench/results/. */
export function report(name: string, result: BenchResult, run?: RunInfo): void {
  const lines = [`\n== ${name}: ${result.title}`];
  if (run) lines.push(`  took ${run.seconds.toFixed(0)} s on ${os.cpus().length} cores; load average (1 / 5 / 15 min) ${loads(run.loadBefore)} before, ${loads(run.loadAfter)} after`);
  const table = (heading: string, rows: Record<string, number | string> | undefined) => {
    if (!rows) return;
    lines.push(`  ${heading}`);
    for (const [key, value] of Object.entries(rows)) lines.push(`    ${key.padEnd(52)} ${format(value)}`);
  };
  table('figures', result.figures);
  table('baseline (same run)', result.baseline);
  table('ratios', result.ratios);
  if (result.goals) {
    lines.push('  goals');
    for (const [goal, met] of Object.entries(result.goals)) lines.push(`    ${met ? 'met    ' : 'NOT met'} ${goal}`);
  }
  for (const note of result.notes ?? []) lines.push(`  note: ${note}`);
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    path.join(RESULTS_DIR, `${name}.json`),
    JSON.stringify({ name, date: new Date().toISOString(), machine: machine(), ...(run ? { run } : {}), ...result }, null, 2) + '\n',
  );
}

/** Percentile of a list of numbers (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Values of repeated runs as `min / median / max` (the median of an even count is the lower middle). */
export function spread(values: number[], digits = 1): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return [sorted[0]!, median, sorted[sorted.length - 1]!].map((v) => v.toFixed(digits)).join(' / ');
}
