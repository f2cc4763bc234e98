// CPU time of a process tree from /proc, for "µs of CPU per item" figures: the sum over the live
// processes of the tree of their own and their reaped children's user+system time, so replicas
// that exited during the run (scaled in) still count through their parent's cutime/cstime.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

interface Stat { ppid: number; ticks: number }

function stats(): Map<number, Stat> {
  const out = new Map<number, Stat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch { /* exited while listing */ }
  }
  return out;
}

/** CPU microseconds used so far by `root` and its descendants (live ones and reaped ones). */
export function treeCpuUs(root: number): number {
  return treeBreakdown(root).reduce((a, p) => a + p.us, 0);
}

/** The same, per live process of the tree, named by its command line (reaped ones count in their parent). */
export function treeBreakdown(root: number): { pid: number; cmd: string; us: number }[] {
  const all = stats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) (children.get(s.ppid) ?? children.set(s.ppid, []).get(s.ppid)!).push(pid);
  const out: { pid: number; cmd: string; us: number }[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    const s = all.get(pid);
    if (s) out.push({ pid, cmd: cmdline(pid), us: s.ticks * TICK_US });
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).map((a) => a.split('/').pop()).join(' ').slice(0, 80);
  } catch {
    return '?';
  }
}

/** The postmaster's pid of a data directory (first line of postmaster.pid). */
export const postmasterPid = (dataDir: string): number => Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
