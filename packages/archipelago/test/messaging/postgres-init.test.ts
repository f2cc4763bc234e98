// A starting replica's broker setup must not lock the queue while other replicas publish: its DDL
// (ADD COLUMN / CREATE INDEX IF NOT EXISTS) takes ACCESS EXCLUSIVE and SHARE locks even when
// nothing is missing, which deadlocked replicas that were publishing inside their transactions.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { SubscriptionSpec } from '../../src/messaging/broker.js';
import { createPostgresBroker } from '../../src/messaging/brokers/postgres.js';
import { createTestDatabase } from '../support/db.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

const spec: SubscriptionSpec = {
  name: 'init-sub', topic: 'init-topic', unit: 'w', concurrency: 1, maxAttempts: 3,
  backoff: { initialMs: 100, maxMs: 1000, factor: 2 }, deadlineMs: 5000,
};

describe('postgres broker setup', () => {
  it('a replica starting while another publishes in an open transaction sets up without waiting on a lock', async () => {
    const url = await createTestDatabase('pginit');
    const first = createPostgresBroker({ databaseUrl: url });
    cleanups.push(() => first.close());
    await first.init();
    await first.ensureSubscription(spec);

    const tx = new pg.Client({ connectionString: url });
    await tx.connect();
    cleanups.push(() => tx.end());
    await tx.query('BEGIN');
    await first.publish(spec.topic, [{ id: 'm1', payload: { n: 1 }, publishedAt: new Date() }], { tx });

    const second = createPostgresBroker({ databaseUrl: url });
    cleanups.push(() => second.close());
    let settled = false;
    const setup = second.init().then(() => { settled = true; });
    const watch = new pg.Client({ connectionString: url });
    await watch.connect();
    cleanups.push(() => watch.end());
    let waited = false;
    for (let i = 0; i < 200 && !settled && !waited; i++) {
      const r = await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      waited = r.rows[0].n > 0;
      if (!waited) await new Promise((r) => setTimeout(r, 50));
    }
    await tx.query('COMMIT');
    await setup;
    expect(waited).toBe(false);
    expect(settled).toBe(true);
    expect((await second.stats(spec.name)).backlog).toBe(1);
  });
});
