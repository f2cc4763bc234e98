// robfig/cron v3's own case tables, run against our parser and Next: parser_test.go (TestRange,
// TestField, TestAll, TestParseScheduleErrors, TestStandardSpecSchedule) and spec_test.go
// (TestActivation, TestNext, TestErrors). robfig's specs have a seconds field; the standard grammar
// Kubernetes uses has none, so each spec is written here without it (every ported case had "0"
// seconds, except three with "15/35" seconds, left out: that field does not exist in ours). Local
// times of the originals are read as UTC; their "TZ=America/New_York" prefix becomes the zone argument.
import { describe, expect, it } from 'vitest';
import { CronSyntaxError, nextAfter, parseSchedule, type Schedule } from '../../src/schedule/index.js';

const values = (s: Schedule, f: 'minute' | 'hour' | 'dom' | 'month' | 'dow') => (s.kind === 'spec' ? [...s[f].values].sort((a, b) => a - b) : []);
/** One field's values through a full schedule: the field under test in the minute (0-59) or dow (0-6) position. */
const minuteField = (expr: string) => values(parseSchedule(`${expr} * * * *`), 'minute');
const dowField = (expr: string) => values(parseSchedule(`* * * * ${expr}`), 'dow');

describe('robfig parser_test.go TestRange / TestField (bounds 0-7 become minutes, 1-7 become dow 1-6)', () => {
  it.each([
    ['5', [5]], ['0', [0]], ['7', [7]], ['5-5', [5]], ['5-6', [5, 6]], ['5-7', [5, 6, 7]],
    ['5-6/2', [5]], ['5-7/2', [5, 7]], ['5-7/1', [5, 6, 7]], ['5,6', [5, 6]], ['5,6,7', [5, 6, 7]], ['1,5-7/2,3', [1, 3, 5, 7]],
  ])('%s', (expr, expected) => expect(minuteField(expr)).toEqual(expected));

  it('"*" covers the bounds and is a star; "*/2" (step > 1) is not a star', () => {
    const s = parseSchedule('* * * * */2');
    expect(s.kind === 'spec' && s.minute.star).toBe(true);
    expect(s.kind === 'spec' && s.dow.star).toBe(false);
    expect(dowField('*/2')).toEqual([0, 2, 4, 6]);
  });

  it.each([
    ['5--5', 'too many hyphens'], ['jan-x', 'failed to parse int from'], ['2-x', 'failed to parse int from'],
    ['*/-12', 'negative number'], ['*//2', 'too many slashes'], ['60', 'above maximum'], ['5-3', 'beyond end of range'],
    ['*/0', 'should be a positive number'],
  ])('range error %s: %s', (expr, message) => {
    expect(() => parseSchedule(`${expr} * * * *`)).toThrow(message);
  });

  it('TestAll: each field\'s bounds (minutes 0-59, hours 0-23, dom 1-31, months 1-12, dow 0-6)', () => {
    const s = parseSchedule('* * * * *');
    expect(values(s, 'minute')).toHaveLength(60);
    expect(values(s, 'hour')).toEqual([...Array(24).keys()]);
    expect(values(s, 'dom')).toEqual([...Array(31).keys()].map((i) => i + 1));
    expect(values(s, 'month')).toEqual([...Array(12).keys()].map((i) => i + 1));
    expect(values(s, 'dow')).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('robfig parser_test.go TestParseScheduleErrors / TestStandardSpecSchedule (standard parser)', () => {
  it.each([
    ['5 j * * *', 'failed to parse int from'],
    ['* * * *', 'expected exactly 5 fields'],
    ['0 5 * * * *', 'expected exactly 5 fields'],
    ['@every Xm', 'failed to parse duration'],
    ['@unrecognized', 'unrecognized descriptor'],
    ['', 'empty spec string'],
  ])('%j: %s', (spec, message) => {
    expect(() => parseSchedule(spec)).toThrow(CronSyntaxError);
    expect(() => parseSchedule(spec)).toThrow(message);
  });

  it('"5 * * * *" is minute 5 of every hour; "@every 5m" a constant delay; descriptors as in parseDescriptor', () => {
    expect(values(parseSchedule('5 * * * *'), 'minute')).toEqual([5]);
    expect(parseSchedule('@every 5m')).toEqual({ kind: 'every', delayMs: 300_000 });
    expect(parseSchedule('@yearly')).toEqual(parseSchedule('@annually'));
    expect(parseSchedule('@midnight')).toEqual(parseSchedule('0 0 * * *'));
    expect(parseSchedule('@hourly')).toEqual(parseSchedule('0 * * * *'));
    expect(parseSchedule('@weekly')).toEqual(parseSchedule('0 0 * * 0'));
    expect(parseSchedule('@monthly')).toEqual(parseSchedule('0 0 1 * *'));
  });
});

const time = (s: string): number => {
  // "Mon Jul 9 14:45 2012" (robfig's layouts, read in UTC) or an ISO time with offset.
  const m = /^\w{3} (\w{3}) (\d+) (\d+):(\d+)(?::(\d+))? (\d{4})$/.exec(s);
  if (m) return Date.parse(`${m[6]}-${String(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]!) + 1).padStart(2, '0')}-${m[2]!.padStart(2, '0')}T${m[3]!.padStart(2, '0')}:${m[4]}:${m[5] ?? '00'}Z`);
  return Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
};

describe('robfig spec_test.go TestActivation', () => {
  it.each([
    ['Mon Jul 9 15:00 2012', '0/15 * * * *', true], ['Mon Jul 9 15:45 2012', '0/15 * * * *', true], ['Mon Jul 9 15:40 2012', '0/15 * * * *', false],
    ['Mon Jul 9 15:05 2012', '5/15 * * * *', true], ['Mon Jul 9 15:20 2012', '5/15 * * * *', true], ['Mon Jul 9 15:50 2012', '5/15 * * * *', true],
    ['Sun Jul 15 15:00 2012', '0/15 * * Jul *', true], ['Sun Jul 15 15:00 2012', '0/15 * * Jun *', false],
    ['Sun Jul 15 08:30 2012', '30 08 ? Jul Sun', true], ['Sun Jul 15 08:30 2012', '30 08 15 Jul ?', true],
    ['Mon Jul 16 08:30 2012', '30 08 ? Jul Sun', false], ['Mon Jul 16 08:30 2012', '30 08 15 Jul ?', false],
    ['Mon Jul 9 15:00 2012', '@hourly', true], ['Mon Jul 9 15:04 2012', '@hourly', false], ['Mon Jul 9 15:00 2012', '@daily', false],
    ['Mon Jul 9 00:00 2012', '@daily', true], ['Mon Jul 9 00:00 2012', '@weekly', false], ['Sun Jul 8 00:00 2012', '@weekly', true],
    ['Sun Jul 8 01:00 2012', '@weekly', false], ['Sun Jul 8 00:00 2012', '@monthly', false], ['Sun Jul 1 00:00 2012', '@monthly', true],
    // Both day fields restricted: either may match.
    ['Sun Jul 15 00:00 2012', '* * 1,15 * Sun', true], ['Fri Jun 15 00:00 2012', '* * 1,15 * Sun', true], ['Wed Aug 1 00:00 2012', '* * 1,15 * Sun', true],
    // One of them a star: both must match. (In v3 "*/10" is no star, so Sunday the 15th matches by weekday.)
    ['Sun Jul 15 00:00 2012', '* * * * Mon', false], ['Sun Jul 15 00:00 2012', '* * */10 * Sun', true],
    ['Mon Jul 9 00:00 2012', '* * 1,15 * *', false], ['Sun Jul 15 00:00 2012', '* * 1,15 * *', true], ['Sun Jul 15 00:00 2012', '* * */2 * Sun', true],
  ])('%s %j → %s', (at, spec, expected) => {
    const t = time(at);
    expect(nextAfter(parseSchedule(spec), t - 1000) === t).toBe(expected);
  });
});

describe('robfig spec_test.go TestNext', () => {
  const NY = 'America/New_York';
  it.each([
    ['Mon Jul 9 14:45 2012', '0/15 * * * *', 'UTC', 'Mon Jul 9 15:00 2012'],
    ['Mon Jul 9 14:59 2012', '0/15 * * * *', 'UTC', 'Mon Jul 9 15:00 2012'],
    ['Mon Jul 9 14:59:59 2012', '0/15 * * * *', 'UTC', 'Mon Jul 9 15:00 2012'],
    ['Mon Jul 9 15:45 2012', '20-35/15 * * * *', 'UTC', 'Mon Jul 9 16:20 2012'],
    ['Mon Jul 9 23:46 2012', '*/15 * * * *', 'UTC', 'Tue Jul 10 00:00 2012'],
    ['Mon Jul 9 23:45 2012', '20-35/15 * * * *', 'UTC', 'Tue Jul 10 00:20 2012'],
    ['Mon Jul 9 23:35 2012', '0 0 9 Apr-Oct ?', 'UTC', 'Thu Aug 9 00:00 2012'],
    // v3's table: "*/5" is no star, so the 1st (in */5) matches whatever its weekday.
    ['Mon Jul 9 23:35 2012', '0 0 */5 Apr,Aug,Oct Mon', 'UTC', 'Tue Aug 1 00:00 2012'],
    ['Mon Jul 9 23:35 2012', '0 0 */5 Oct Mon', 'UTC', 'Mon Oct 1 00:00 2012'],
    ['Mon Jul 9 23:35 2012', '0 0 * Feb Mon', 'UTC', 'Mon Feb 4 00:00 2013'],
    ['Mon Jul 9 23:35 2012', '0 0 * Feb Mon/2', 'UTC', 'Fri Feb 1 00:00 2013'],
    ['Mon Dec 31 23:59:45 2012', '* * * * *', 'UTC', 'Tue Jan 1 00:00:00 2013'],
    ['Mon Jul 9 23:35 2012', '0 0 29 Feb ?', 'UTC', 'Mon Feb 29 00:00 2016'],
    // Daylight saving time 2am EST (-5) -> 3am EDT (-4): a time in the gap does not happen that year.
    ['2012-03-11T00:00:00-0500', '30 2 11 Mar ?', NY, '2013-03-11T02:30:00-0400'],
    ['2012-03-11T00:00:00-0500', '0 * * * ?', NY, '2012-03-11T01:00:00-0500'],
    ['2012-03-11T01:00:00-0500', '0 * * * ?', NY, '2012-03-11T03:00:00-0400'],
    ['2012-03-11T03:00:00-0400', '0 * * * ?', NY, '2012-03-11T04:00:00-0400'],
    ['2012-03-11T04:00:00-0400', '0 * * * ?', NY, '2012-03-11T05:00:00-0400'],
    ['2012-03-11T00:00:00-0500', '0 1 * * ?', NY, '2012-03-11T01:00:00-0500'],
    ['2012-03-11T01:00:00-0500', '0 1 * * ?', NY, '2012-03-12T01:00:00-0400'],
    ['2012-03-11T00:00:00-0500', '0 2 * * ?', NY, '2012-03-12T02:00:00-0400'],
    // 2am EDT (-4) -> 1am EST (-5): the repeated hour runs hourly jobs twice, and a 1am nightly job twice.
    ['2012-11-04T00:00:00-0400', '30 2 04 Nov ?', NY, '2012-11-04T02:30:00-0500'],
    ['2012-11-04T01:45:00-0400', '30 1 04 Nov ?', NY, '2012-11-04T01:30:00-0500'],
    ['2012-11-04T00:00:00-0400', '0 * * * ?', NY, '2012-11-04T01:00:00-0400'],
    ['2012-11-04T01:00:00-0400', '0 * * * ?', NY, '2012-11-04T01:00:00-0500'],
    ['2012-11-04T01:00:00-0500', '0 * * * ?', NY, '2012-11-04T02:00:00-0500'],
    ['2012-11-04T00:00:00-0400', '0 1 * * ?', NY, '2012-11-04T01:00:00-0400'],
    ['2012-11-04T01:00:00-0400', '0 1 * * ?', NY, '2012-11-04T01:00:00-0500'],
    ['2012-11-04T01:00:00-0500', '0 1 * * ?', NY, '2012-11-05T01:00:00-0500'],
    ['2012-11-04T00:00:00-0400', '0 2 * * ?', NY, '2012-11-04T02:00:00-0500'],
    ['2012-11-04T02:00:00-0500', '0 2 * * ?', NY, '2012-11-05T02:00:00-0500'],
    ['2012-11-04T00:00:00-0400', '0 3 * * ?', NY, '2012-11-04T03:00:00-0500'],
    ['2012-11-04T03:00:00-0500', '0 3 * * ?', NY, '2012-11-05T03:00:00-0500'],
  ])('from %s, %j in %s → %s', (from, spec, zone, expected) => {
    expect(new Date(nextAfter(parseSchedule(spec), time(from), zone)!).toISOString()).toBe(new Date(time(expected)).toISOString());
  });

  it.each([['0 0 30 Feb ?'], ['0 0 31 Apr ?']])('unsatisfiable %j: no next time', (spec) => {
    expect(nextAfter(parseSchedule(spec), time('Mon Jul 9 23:35 2012'))).toBeNull();
  });
});

describe('robfig spec_test.go TestErrors, and what Kubernetes adds', () => {
  it.each([
    'xyz', '60 0 * * *', '0 60 * * *', '0 0 * * XYZ', '0-0-0 * * * *', '*/5/5 * * * *', '59-2 * * * *',
    // Not in robfig's standard grammar (croner accepted these):
    '0 0 L * *', '0 9 * * 1#1', '0 0 15W * *', '0 0 * * 5L', '0 0 * * 7',
    // Kubernetes refuses a zone in the schedule: the timeZone field says it.
    'TZ=UTC 0 * * * *', 'CRON_TZ=Europe/Paris 0 * * * *',
  ])('%j is rejected', (spec) => {
    expect(() => parseSchedule(spec)).toThrow(CronSyntaxError);
  });

  it('names are case-insensitive, descriptors are not', () => {
    expect(values(parseSchedule('0 9 * jan-MAR mOn'), 'month')).toEqual([1, 2, 3]);
    expect(() => parseSchedule('@Hourly')).toThrow('unrecognized descriptor');
  });
});
