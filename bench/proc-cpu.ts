import { readdirSync, readFileSync } from 'node:fs';

/** CPU time as Linux counts it in /proc: ticks of USER_HZ (getconf CLK_TCK). */
const TICKS_PER_S = 100;

/** utime + stime (µs) of `pid` and its live descendants. */
export function treeCpuUs(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  let ticks = 0;
  const visit = (p: number) => {
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, { ppid }] of stats) if (ppid === p) visit(child);
  };
  visit(pid);
  return (ticks / TICKS_PER_S) * 1e6;
}

/** CPU time (µs) the whole machine has spent busy, every core and process (anything but idle and iowait). */
export function machineBusyUs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) / TICKS_PER_S) * 1e6;
}
