// After the supervisor was down, a cron starts at most one run: the most recent missed time, and only
// if it is within startingDeadline, as the CronJob controller does. The record of the last scheduled
// time survives restarts in .archipelago/crons.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextAfter, parseSchedule } from '../../src/schedule/index.js';
import { createTestDatabase } from '../support/db.js';
import { copyFixture, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

let sup: Running | undefined;
let dir = '';
const DAY = 86_400_000;
// The most recent 1st of the month at 00:00 UTC, i.e. what the controller would start now.
const monthly = parseSchedule('0 0 1 * *');
let expected = 0;

beforeAll(async () => {
  dir = copyFixture('crons');
  const now = Date.now();
  for (let t = nextAfter(monthly, now - 40 * DAY)!; t <= now; t = nextAfter(monthly, t)!) expected = t;
  // Down since three months ago: three (or four) scheduled times were missed.
  const last = now - 95 * DAY;
  mkdirSync(path.join(dir, '.archipelago'), { recursive: true });
  writeFileSync(path.join(dir, '.archipelago', 'crons.json'), JSON.stringify({
    monthly: { createdAt: last, lastScheduleTime: last }, strict: { createdAt: last, lastScheduleTime: last },
  }));
  sup = startUp(dir, [], { DATABASE_URL: await createTestDatabase('croncatch') });
}, 60_000);

afterAll(() => {
  killGroup(sup?.pid);
  removeDir(dir);
});

describe('archipelago up: missed cron runs', () => {
  it('catches up only the most recent missed time within startingDeadline, once', async () => {
    const runs = () => (existsSync(path.join(dir, 'runs.log')) ? readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n') : []);
    await waitFor('the caught-up run finished', async () => (await status(dir)).units.find((u) => u.name === 'monthly')?.cron?.last?.outcome === 'ok', 180_000, 500);
    const s = await status(dir);
    expect(runs()).toEqual(['monthly-1']);
    expect(s.units.find((u) => u.name === 'strict')!.cron!.runs).toEqual([]);
    const saved = JSON.parse(readFileSync(path.join(dir, '.archipelago', 'crons.json'), 'utf8')) as Record<string, { lastScheduleTime: number }>;
    expect(saved.monthly!.lastScheduleTime).toBe(expected);
    const out = sup!.output();
    expect(out).toContain(`monthly: starting the run scheduled for ${new Date(expected).toISOString()}`);
    expect(out).toContain(`strict: missed the run scheduled for ${new Date(expected).toISOString()}`);
    // The next time is next month's 1st, not another of the missed ones.
    expect(s.units.find((u) => u.name === 'monthly')!.cron!.next).toBe(new Date(nextAfter(monthly, expected)!).toISOString());
  }, 240_000);
});
