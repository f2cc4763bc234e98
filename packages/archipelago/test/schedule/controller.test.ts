// The CronJob controller's own cases (kubernetes/kubernetes pkg/controller/cronjob/utils_test.go:
// TestMostRecentScheduleTime, TestNextScheduleTimeDuration), run against ours, and syncCronJob's
// rules (cronjob_controllerv2.go): too late past startingDeadlineSeconds, Forbid holds back, Replace
// stops the active run, and after downtime only the most recent missed time starts.
import { describe, expect, it } from 'vitest';
import { mostRecentScheduleTime, nextWakeAt, parseSchedule, syncCron, UnsatisfiableScheduleError, type CronSpec } from '../../src/schedule/index.js';

const TOP = Date.parse('2016-05-19T10:00:00Z');
const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;
const at = (delta: number) => TOP + delta;
const spec = (schedule: string, startingDeadlineMs?: number, concurrency: CronSpec['concurrency'] = 'forbid'): CronSpec =>
  ({ schedule: parseSchedule(schedule), timezone: 'UTC', startingDeadlineMs, concurrency });

describe('utils_test.go TestMostRecentScheduleTime', () => {
  it.each([
    ['now before next schedule', '0 * * * *', undefined, at(0), null, at(30 * S), false, at(0), null, 'none'],
    ['now just after next schedule', '0 * * * *', undefined, at(0), null, at(61 * M), false, at(0), at(60 * M), 'none'],
    ['missed 5 schedules', '0 * * * *', undefined, at(10 * S), null, at(301 * M), false, at(10 * S), at(300 * M), 'few'],
    ['complex schedule', '30 6-16/4 * * 1-5', undefined, at(0), at(30 * M), at(D + 31 * M), false, at(30 * M), at(D + 30 * M), 'few'],
    ['another complex schedule', '30 10,11,12 * * 1-5', undefined, at(0), at(30 * M), at(30 * H + 30 * M), false, at(30 * M), null, 'few'],
    ['complex schedule with longer diff between executions', '30 6-16/4 * * 1-5', undefined, at(0), at(30 * M), at(96 * H + 31 * M), false, at(30 * M), at(96 * H + 30 * M), 'few'],
    ['complex schedule with shorter diff between executions', '30 6-16/4 * * 1-5', undefined, at(0), null, at(D + 31 * M), false, at(0), at(D + 30 * M), 'few'],
    ['@every schedule', '@every 1h', 10 * S, at(-59 * M), at(M), at(7 * D), false, at(M), at(6 * D + 23 * H + M), 'many'],
    ['earliestTime being CreationTimestamp and LastScheduleTime', '0 * * * *', undefined, at(0), at(0), at(30 * S), false, at(0), null, 'none'],
    ['earliestTime being LastScheduleTime', '*/5 * * * *', undefined, at(0), at(30 * M), at(31 * M), false, at(30 * M), null, 'none'],
    ['earliestTime being LastScheduleTime (within StartingDeadlineSeconds)', '*/5 * * * *', M, at(0), at(30 * M), at(31 * M), false, at(30 * M), null, 'none'],
    ['earliestTime being LastScheduleTime (outside StartingDeadlineSeconds)', '*/5 * * * *', M, at(0), at(30 * M), at(32 * M), true, at(31 * M), null, 'none'],
  ] as const)('%s', (_name, schedule, sds, createdAt, last, now, includeSDS, earliest, recent, missed) => {
    const r = mostRecentScheduleTime({ createdAt, lastScheduleTime: last }, now, spec(schedule, sds), includeSDS);
    expect(r).toEqual({ earliest, mostRecent: recent, missed });
  });

  it('rogue cronjob: "59 23 31 2 *" parses but never happens, and is an error', () => {
    expect(() => mostRecentScheduleTime({ createdAt: at(10 * S), lastScheduleTime: null }, at(H), spec('59 23 31 2 *'), false)).toThrow(UnsatisfiableScheduleError);
  });
});

describe('utils_test.go TestNextScheduleTimeDuration (without the 100 ms padding)', () => {
  it.each([
    ['complex schedule skipping weekend', '30 6-16/4 * * 1-5', at(30 * M), at(D + 31 * M), 3 * H + 59 * M],
    ['another complex schedule skipping weekend', '30 10,11,12 * * 1-5', at(30 * M), at(30 * H + 30 * M), 66 * H],
    ['once a week cronjob, missed two runs', '0 12 * * 4', at(2 * H), at(19 * D + H + 30 * M), 48 * H + 30 * M],
    ['no previous run of a cronjob', '0 12 * * 5', null, at(6 * H), 20 * H],
  ] as const)('%s', (_name, schedule, last, now, wait) => {
    expect(nextWakeAt({ createdAt: at(0), lastScheduleTime: last }, now, spec(schedule))! - now).toBe(wait);
  });
});

describe('syncCronJob: what one sync does', () => {
  const hourly = (sds?: number, c?: CronSpec['concurrency']) => spec('0 * * * *', sds, c);

  it('after the supervisor was down for hours, only the most recent missed time starts', () => {
    const d = syncCron({ createdAt: at(0), lastScheduleTime: at(0) }, at(5 * H + 10 * M), hourly(), 0);
    expect(d).toEqual({ action: 'start', scheduledTime: at(5 * H), replace: false, missed: 'few' });
  });

  it('a missed time older than startingDeadline is not started (and none before it)', () => {
    expect(syncCron({ createdAt: at(0), lastScheduleTime: at(0) }, at(5 * H + 10 * M), hourly(5 * M), 0)).toEqual({ action: 'wait' });
    // Within the deadline it starts; a second sync after the start (lastScheduleTime set) waits.
    expect(syncCron({ createdAt: at(0), lastScheduleTime: at(0) }, at(5 * H + 4 * M), hourly(5 * M), 0)).toMatchObject({ action: 'start', scheduledTime: at(5 * H) });
    expect(syncCron({ createdAt: at(0), lastScheduleTime: at(5 * H) }, at(5 * H + 4 * M), hourly(5 * M), 0)).toEqual({ action: 'wait' });
  });

  it('concurrency forbid holds a due time back while a run is active; it starts once the run ends (within the deadline)', () => {
    const rec = { createdAt: at(0), lastScheduleTime: at(0) };
    expect(syncCron(rec, at(H + 10 * S), hourly(2 * M), 1)).toEqual({ action: 'forbidden', scheduledTime: at(H) });
    expect(syncCron(rec, at(H + 90 * S), hourly(2 * M), 0)).toMatchObject({ action: 'start', scheduledTime: at(H) });
    expect(syncCron(rec, at(H + 3 * M), hourly(2 * M), 0)).toEqual({ action: 'wait' });
  });

  it('concurrency replace starts and stops the active run; allow starts alongside it', () => {
    const rec = { createdAt: at(0), lastScheduleTime: at(0) };
    expect(syncCron(rec, at(H + S), hourly(undefined, 'replace'), 1)).toMatchObject({ action: 'start', replace: true });
    expect(syncCron(rec, at(H + S), hourly(undefined, 'allow'), 1)).toMatchObject({ action: 'start', replace: false });
  });

  it('a cron created after its time waits for the next one', () => {
    expect(syncCron({ createdAt: at(30 * M), lastScheduleTime: null }, at(59 * M), hourly(), 0)).toEqual({ action: 'wait' });
  });
});
