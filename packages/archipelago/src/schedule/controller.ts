// The Kubernetes CronJob controller's scheduling decisions (pkg/controller/cronjob, utils.go and
// cronjob_controllerv2.go's syncCronJob), as pure functions of the cron's record and the clock, so
// the local scheduler decides as the cluster would: at most the most recent missed time is started,
// only within `startingDeadline`, and `forbid` holds a due time back rather than dropping it.
import { nextAfter, type Schedule } from './cron.js';

export type Missed = 'none' | 'few' | 'many';

/** What the controller keeps about a CronJob: when it was created and the last time it scheduled. */
export interface CronRecord { readonly createdAt: number; readonly lastScheduleTime: number | null }

export interface CronSpec {
  readonly schedule: Schedule;
  readonly timezone: string;
  readonly startingDeadlineMs?: number | undefined;
  readonly concurrency: 'forbid' | 'allow' | 'replace';
}

export class UnsatisfiableScheduleError extends Error {}

/**
 * mostRecentScheduleTime: the earliest time considered (last schedule, else creation, moved up to
 * now − startingDeadline when `includeDeadline`), the most recent scheduled time in (earliest, now]
 * or null, and whether schedules were missed (more than 100 is "many"). Like the controller it counts
 * the misses roughly from the gap between the next two times, then walks to the most recent one.
 */
export function mostRecentScheduleTime(rec: CronRecord, now: number, spec: CronSpec, includeDeadline: boolean):
  { earliest: number; mostRecent: number | null; missed: Missed } {
  let earliest = rec.lastScheduleTime ?? rec.createdAt;
  if (includeDeadline && spec.startingDeadlineMs !== undefined) {
    const deadline = now - spec.startingDeadlineMs;
    if (deadline > earliest) earliest = deadline;
  }
  const next = (t: number) => nextAfter(spec.schedule, t, spec.timezone);
  const t1 = next(earliest);
  const t2 = t1 === null ? null : next(t1);
  // Go's zero time is before every `now`: an unsatisfiable schedule lands on the error below.
  if (t1 !== null && now < t1) return { earliest, mostRecent: null, missed: 'none' };
  if (t1 !== null && t2 !== null && now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = t1 === null || t2 === null ? 0 : Math.round((t2 - t1) / 1000);
  if (between < 1) throw new UnsatisfiableScheduleError('time difference between two schedules is less than 1 second');
  const elapsed = Math.trunc((now - t1!) / 1000);
  const missedCount = Math.trunc(elapsed / between) + 1;
  let mostRecent: number | null = null;
  const potentialEarliest = t1! + (missedCount - 2) * between * 1000;
  for (let t = next(potentialEarliest); t !== null && t <= now; t = next(t)) mostRecent = t;
  const missed: Missed = missedCount > 100 ? 'many' : missedCount > 0 ? 'few' : 'none';
  return { earliest, mostRecent, missed };
}

/** nextScheduleTimeDuration without the controller's 100 ms padding: when to look again. */
export function nextWakeAt(rec: CronRecord, now: number, spec: CronSpec): number | null {
  let base: number;
  try {
    const r = mostRecentScheduleTime(rec, now, spec, false);
    base = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now);
  } catch {
    base = now;
  }
  return nextAfter(spec.schedule, base, spec.timezone);
}

export type SyncDecision =
  | { readonly action: 'wait' }
  | { readonly action: 'start'; readonly scheduledTime: number; readonly replace: boolean; readonly missed: Missed }
  | { readonly action: 'too-late'; readonly scheduledTime: number }
  | { readonly action: 'forbidden'; readonly scheduledTime: number };

/**
 * One sync of the controller: the due time (if any), whether it is too late to start
 * (scheduledTime + startingDeadline < now: skipped, and the record is left as it was), whether
 * `forbid` holds it back while a run is active (retried on the next sync, e.g. when that run ends),
 * or a start (`replace` stops the active runs first). The caller sets lastScheduleTime on a start.
 */
export function syncCron(rec: CronRecord, now: number, spec: CronSpec, active: number): SyncDecision {
  const { mostRecent, missed } = mostRecentScheduleTime(rec, now, spec, true);
  if (mostRecent === null || mostRecent > now) return { action: 'wait' };
  if (spec.startingDeadlineMs !== undefined && mostRecent + spec.startingDeadlineMs < now) return { action: 'too-late', scheduledTime: mostRecent };
  if (spec.concurrency === 'forbid' && active > 0) return { action: 'forbidden', scheduledTime: mostRecent };
  return { action: 'start', scheduledTime: mostRecent, replace: spec.concurrency === 'replace' && active > 0, missed };
}
