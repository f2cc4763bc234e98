// `validate` rejects every schedule and zone the Kubernetes API server would reject for a CronJob,
// naming the unit and the field: robfig's standard grammar (no L, W, #, no seconds field, no zone
// prefix) and time.LoadLocation's exact, case-sensitive IANA names. (croner and Intl accepted
// `0 0 L * *`, `0 9 * * 1#1` and `europe/paris`.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateService } from '../../src/service/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'svc-cron-'));
writeFileSync(path.join(root, 'cron.ts'), 'export default {};');
const service = (cron: Record<string, unknown>) => ({ name: 'shop', units: [{ name: 'nightly', kind: 'cron', entry: 'cron.ts', schedule: '0 3 * * *', ...cron }] });
const errors = (cron: Record<string, unknown>) => validateService(service(cron), { root }).errors;

describe('validate: cron schedules as Kubernetes parses them', () => {
  it.each([
    '0 0 L * *', '0 9 * * 1#1', '0 0 15W * *', '0 0 * * 5L', '0 0 0 * * *', '* * * *', '61 * * * *', '0 24 * * *',
    '0 0 0 * *', '0 0 * 13 *', '0 0 * * 7', '0 0 * * MON#2', 'TZ=UTC 0 3 * * *', '@reboot', '@every', '', '*/0 * * * *',
  ])('%j is rejected with ARCH_E_INVALID_CRON naming the unit and field', (schedule) => {
    const e = errors({ schedule });
    expect(e.map((x) => x.code)).toContain('ARCH_E_INVALID_CRON');
    const hit = e.find((x) => x.code === 'ARCH_E_INVALID_CRON')!;
    expect(hit.message).toContain('units[0] "nightly"');
    expect(hit.message).toContain('schedule');
  });

  it.each(['0 9 * * MON', '*/15 9-17 * * 1-5', '0 0 1,15 * *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@every 1h30m', '0 0 ? * SUN', '5/10 * * jan-mar *'])('%j is accepted', (schedule) => {
    expect(errors({ schedule })).toEqual([]);
  });
});

describe('validate: time zones as time.LoadLocation finds them', () => {
  it.each([
    ['europe/paris', "names are case-sensitive: 'Europe/Paris'"],
    ['EUROPE/PARIS', "'Europe/Paris'"],
    ['Local', 'not Local'],
    ['local', 'not Local'],
    ['', 'non-empty'],
    ['Mars/Olympus', 'not an IANA time zone'],
    [' Europe/Paris', 'not an IANA time zone'],
    ['+05:00', 'not an IANA time zone'],
  ])('%j is rejected (%s)', (timezone, why) => {
    const hit = errors({ timezone }).find((x) => x.code === 'ARCH_E_INVALID_TIMEZONE');
    expect(hit, JSON.stringify(errors({ timezone }))).toBeDefined();
    expect(hit!.message).toContain('units[0] "nightly"');
    expect(hit!.message).toContain('timezone');
    expect(hit!.message).toContain(why);
  });

  it.each(['Europe/Paris', 'UTC', 'Etc/UTC', 'America/Argentina/Buenos_Aires', 'US/Eastern', 'Asia/Kolkata', 'Etc/GMT+5', 'EST5EDT'])('%j is accepted', (timezone) => {
    expect(errors({ timezone })).toEqual([]);
  });

  it('startingDeadline defaults to 5 minutes and must be a duration', () => {
    const ok = validateService(service({}), { root }).service!.units[0] as { startingDeadlineMs: number };
    expect(ok.startingDeadlineMs).toBe(300_000);
    expect(errors({ startingDeadline: 'soon' }).map((x) => x.code)).toContain('ARCH_E_INVALID_DURATION');
  });
});
