// The autoscaler loop on a real worker: 0 → 4 replicas as a backlog of 2,000 messages appears,
// back to 0 after the cooldown once drained, every message's effect recorded once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { control } from '../../src/supervisor/control.js';
import { copyFixture, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

let sup: Running | undefined;
let dir: string;
let db: pg.Client;

beforeAll(async () => {
  dir = copyFixture('autoscale');
  const url = await createTestDatabase('autoscale');
  db = new pg.Client({ connectionString: url });
  await db.connect();
  sup = startUp(dir, [], { DATABASE_URL: url, FIXTURE_WORK_MS: '20' });
  await waitFor('supervisor up', async () => (await status(dir)).units.find((u) => u.name === 'queue'), 45_000);
});

afterAll(async () => {
  killGroup(sup?.pid);
  await db?.end();
  removeDir(dir);
});

describe('archipelago up: autoscaler loop', () => {
  it('scales a worker from 0 to max on its backlog and back to 0 after the cooldown', async () => {
    const idle = (await status(dir)).units.find((u) => u.name === 'queue')!;
    expect(idle.replicas.desired).toBe(0);
    expect(idle.replicaList).toHaveLength(0);

    const fill = await control<{ code: number }>(dir, 'POST', '/job/run', { name: 'fill', args: ['2000'] });
    expect(fill.code).toBe(0);

    await waitFor('4 replicas', async () => (await status(dir)).units.find((u) => u.name === 'queue' && u.replicas.desired === 4), 30_000);
    await waitFor('every message handled', async () => (await db.query('SELECT count(*)::int AS n FROM effects')).rows[0].n === 2000, 150_000, 500);
    await waitFor('back to zero', async () => (await status(dir)).units.find((u) => u.name === 'queue' && u.replicas.desired === 0 && u.replicaList.length === 0), 60_000);

    const history = (await status(dir)).history.filter((h) => h.unit === 'queue');
    expect(history[0]).toMatchObject({ from: 0, source: 'autoscaler' });
    // Woken at the first reading above activation, at max by the second.
    expect(history.slice(0, 2).map((h) => h.to)).toContain(4);
    expect(history.at(-1)).toMatchObject({ to: 0 });
    expect(history.at(-1)!.reason).toContain('cooldown');
    expect(history[0]!.metrics.backlog).toBeGreaterThan(0);
    const { rows } = await db.query('SELECT count(DISTINCT n)::int AS distinct_n, max(deliveries)::int AS most, count(DISTINCT replica)::int AS replicas FROM effects');
    expect(rows[0]).toMatchObject({ distinct_n: 2000, most: 1 });
    expect(rows[0].replicas).toBeGreaterThan(1);
    expect(sup!.output()).toMatch(/scale queue: 0 -> \d+ \(/);
  }, 240_000);
});
