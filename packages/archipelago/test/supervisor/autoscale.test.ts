// The local autoscaler end to end (issue 5): `archipelago up` scales a worker 0 → 4 on its backlog and
// back to 0 after the cooldown with every message handled exactly once, and a scale-in stops the idle
// replica, not the busy one.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import type { ScaleDecision } from '../../src/supervisor/state.js';
import path from 'node:path';
import { simulate } from '../../src/scaling/index.js';
import { importConfig, validateService } from '../../src/service/index.js';
import { control } from '../../src/supervisor/control.js';
import { createTestDatabase } from '../support/db.js';
import { cli, copyFixture, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

let sup: Running | undefined;
let dir: string | undefined;
let db: pg.Client;
let databaseUrl: string;
const broker = () => createPostgresBroker({ databaseUrl });

const decisions = async (unit: string): Promise<ScaleDecision[]> =>
  (await status(dir!)).history.filter((h) => h.unit === unit && h.source === 'autoscaler');

async function publish(topic: string, payloads: unknown[]): Promise<void> {
  const b = broker();
  try {
    await b.publish(topic, payloads.map((payload) => ({ id: randomUUID(), payload, publishedAt: new Date() })));
  } finally {
    await b.close();
  }
}

beforeAll(async () => {
  databaseUrl = await createTestDatabase('scale');
  dir = copyFixture('scaling');
  sup = startUp(dir, ['--no-console'], { DATABASE_URL: databaseUrl });
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  // Publish only once the supervisor registered the subscriptions and the deploy job made the tables.
  await waitFor('subscriptions and tables', async () => {
    const subs = await db.query("SELECT name FROM archipelago.subscriptions WHERE name IN ('bulk-work', 'pair-hold')").catch(() => ({ rowCount: 0 }));
    const tables = await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'releases'");
    return subs.rowCount === 2 && tables.rowCount === 1;
  }, 180_000);
}, 200_000);

afterAll(async () => {
  await db?.end().catch(() => {});
  killGroup(sup?.pid);
  removeDir(dir);
});

describe('archipelago up: autoscaling', () => {
  it('scales a worker 0 → 4 on its backlog, then to 0 after the cooldown, each message handled exactly once', async () => {
    expect((await status(dir!)).units.find((u) => u.name === 'bulk')!.replicas.desired).toBe(0);
    await publish('bulk-jobs', Array.from({ length: 2000 }, (_, n) => ({ n })));

    await waitFor('4 bulk replicas', async () => (await status(dir!)).units.find((u) => u.name === 'bulk' && u.replicas.desired === 4), 60_000);
    await waitFor('the backlog drained and bulk back at 0', async () => {
      const u = (await status(dir!)).units.find((x) => x.name === 'bulk')!;
      return u.replicas.desired === 0 && u.replicaList.length === 0;
    }, 240_000, 500);

    const ds = await decisions('bulk');
    // Woken at the first poll over the activation threshold, at 4 on the next one, then straight to 0.
    expect(ds.map((d) => [d.from, d.to])).toEqual([[0, 1], [1, 4], [4, 0]]);
    expect(ds[0]!.reason).toContain('waking from zero');
    expect(ds[1]!.metrics.backlog).toBeGreaterThan(150);
    expect(ds[2]!.reason).toContain('cooldown');
    expect(ds[2]!.metrics.backlog).toBe(0);
    const gaps = { wakeToFour: Date.parse(ds[1]!.at) - Date.parse(ds[0]!.at), fourToZero: Date.parse(ds[2]!.at) - Date.parse(ds[1]!.at) };
    console.log(`bulk: 0→1→4 took ${gaps.wakeToFour} ms (polling 1000 ms); 4→0 came ${gaps.fourToZero} ms later`);

    const { rows } = await db.query<{ n: string; distinct_n: string; max_times: number; max_attempt: number; replicas: string }>(
      'SELECT count(*) AS n, count(DISTINCT n) AS distinct_n, max(times) AS max_times, max(attempt) AS max_attempt, count(DISTINCT replica) AS replicas FROM effects');
    expect(rows[0]).toMatchObject({ n: '2000', distinct_n: '2000', max_times: 1, max_attempt: 1 });
    expect(Number(rows[0]!.replicas)).toBeGreaterThan(1);
    const b = broker();
    try {
      expect(await b.stats('bulk-work')).toMatchObject({ backlog: 0, deadLetters: 0 });
    } finally {
      await b.close();
    }

    // The recorded rounds, replayed through the declared rules, give every decision the supervisor made.
    const { samples } = await control<{ samples: { at: number; current: number; metrics: Record<string, number | null>; to: number }[] }>(dir!, 'GET', '/samples?unit=bulk');
    const declared = validateService(await importConfig(path.join(dir!, 'archipelago.config.ts')), { root: dir! }).service!.units.find((u) => u.name === 'bulk')!;
    expect(samples.length).toBeGreaterThan(ds.length);
    expect(simulate(declared, samples).map((s) => s.to)).toEqual(samples.map((s) => s.to));
    expect(samples.filter((s) => s.to !== s.current).map((s) => [s.current, s.to])).toEqual(ds.map((d) => [d.from, d.to]));
    const sim = await cli(dir!, ['simulate', 'bulk', '--set', 'scale.backlog=1000']);
    expect(sim.code, sim.stderr).toBe(0);
    // It replays what the supervisor holds then, a few rounds more than above.
    expect(sim.stdout).toMatch(/declared rules reproduce the supervisor's \d+ recorded decisions/);
    expect(sim.stdout).toContain('alternative (scale.backlog=1000)');
    console.log(sim.stdout.split('\n').slice(-12).join('\n'));
  }, 300_000);

  it('scale-in stops the idle replica and leaves the busy one at work', async () => {
    await waitFor('pair-1 ready', async () => (await status(dir!)).units.find((u) => u.name === 'pair' && u.replicas.ready === 1), 120_000);
    await publish('pair-holds', [{ key: 'first' }]);
    await waitFor('pair-1 holding the first message', async () => (await db.query("SELECT 1 FROM holds WHERE key = 'first' AND replica = 'pair-1'")).rowCount === 1, 60_000);

    // A second message while pair-1 is busy: backlog 2 against a target of 1 brings pair-2, which takes it.
    await publish('pair-holds', [{ key: 'second' }]);
    await waitFor('pair-2 holding the second message', async () => (await db.query("SELECT 1 FROM holds WHERE key = 'second' AND replica = 'pair-2'")).rowCount === 1, 120_000);

    // pair-1 finishes; pair-2 (the newer one) is still busy. Scaling back to 1 must stop pair-1.
    await db.query("INSERT INTO releases (key) VALUES ('first')");
    await waitFor('pair scaled in to 1', async () => (await decisions('pair')).some((d) => d.from === 2 && d.to === 1), 60_000);
    const pair = await waitFor('one pair replica left', async () => {
      const u = (await status(dir!)).units.find((x) => x.name === 'pair')!;
      return u.replicaList.length === 1 ? u : undefined;
    }, 60_000);
    expect(pair.replicaList.map((r) => r.id)).toEqual(['pair-2']);
    expect(pair.replicaList[0]!.inFlight).toBe(1);
    expect((await db.query("SELECT finished_at FROM holds WHERE key = 'second'")).rows[0].finished_at).toBeNull();

    await db.query("INSERT INTO releases (key) VALUES ('second')");
    await waitFor('the second message finished', async () => (await db.query("SELECT 1 FROM holds WHERE key = 'second' AND finished_at IS NOT NULL")).rowCount === 1, 60_000);
    const { rows } = await db.query<{ key: string; replica: string; attempt: number; times: number }>('SELECT key, replica, attempt, times FROM holds ORDER BY key');
    expect(rows).toEqual([
      { key: 'first', replica: 'pair-1', attempt: 1, times: 1 },
      { key: 'second', replica: 'pair-2', attempt: 1, times: 1 },
    ]);
  }, 300_000);
});
