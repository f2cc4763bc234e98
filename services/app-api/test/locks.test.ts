// demo-seed holds its advisory lock while it seeds; a worker starting meanwhile sets up the broker,
// which takes the broker's own setup lock. They used to be the same number, so seeding stopped
// every worker's start; now each is derived from its own name and the worker starts at once.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from 'archipelago-toolkit';
import { createPostgresBroker } from 'archipelago-toolkit/testing';
import demoSeed from '../src/jobs/demo-seed.js';
import { migratedDatabase, unitContext } from './support/context.js';

const url = await migratedDatabase();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('advisory locks', () => {
  it('a worker sets up its broker while demo-seed holds its lock', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(() => admin.end());
    // Hold demo-seed inside its lock: it waits on the users table this transaction locks.
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    cleanups.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');

    const ctx = await unitContext(url, 'demo-seed', { config: { DATABASE_URL: url } });
    cleanups.push(() => ctx.close());
    const seeding = Promise.resolve(demoSeed.run({ ...ctx, args: [] }));
    seeding.catch(() => {});
    await until('demo-seed to hold its advisory lock and wait on users', async () => {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE a.application_name = 'test-demo-seed' AND l.locktype = 'relation' AND NOT l.granted`);
      return rows[0]!.n > 0;
    });
    const held = (await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE a.application_name = 'test-demo-seed' AND l.locktype = 'advisory' AND l.granted`)).rows[0]!.n;
    expect(held).toBe(1);

    // What a worker's start does first: the broker's setup (its own advisory lock, in a transaction).
    const pool = createPool(url, { max: 2, application: 'test-worker-start' });
    cleanups.push(() => pool.end());
    const broker = createPostgresBroker({ databaseUrl: url, pool });
    cleanups.push(() => broker.close());
    let initialised = false;
    const init = broker.init().then(() => { initialised = true; });
    init.catch(() => {});
    let blocked = false;
    await until('the broker setup to finish or to wait on an advisory lock', async () => {
      if (initialised) return true;
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE a.application_name = 'test-worker-start' AND l.locktype = 'advisory' AND NOT l.granted`);
      blocked = rows[0]!.n > 0;
      return blocked;
    });
    expect(blocked, 'the worker\'s broker setup waits on demo-seed\'s lock').toBe(false);
    expect(initialised).toBe(true);

    // Let demo-seed finish: it seeds and releases its lock.
    await blocker.query('COMMIT');
    await seeding;
    const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE username = 'demo'");
    expect(rows[0]!.n).toBe(1);
  });
});
