// Releasing a dead consumer's leases (the supervisor's path) also catches the claim it sent just
// before it died: a session the server had not read yet would otherwise lease a message to the
// dead holder after the release, for the whole lease (found by the fault schedules).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import type { Broker, SubscriptionSpec } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startConsumer } from './children.js';

let url = '';
let broker: Broker;
let db: pg.Client;
beforeAll(async () => {
  url = await createTestDatabase('release_holder');
  broker = createPostgresBroker({ databaseUrl: url });
  await broker.init();
  db = new pg.Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => { await killAll(); await broker?.close(); await db?.end(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('postgres broker: releaseHolder', () => {
  it('a claim a killed consumer sent just before it died, read by the server only after the release, leases nothing to the dead holder', async () => {
    const id = randomBytes(4).toString('hex');
    // A 30 s deadline: a claim landing after the release would hold the message for 31 s.
    const spec: SubscriptionSpec = { name: `rh-${id}`, topic: `rh-${id}`, unit: 'rh', concurrency: 1, maxAttempts: 5, backoff: { initialMs: 10, maxMs: 100, factor: 2 }, deadlineMs: 30_000 };
    await broker.ensureSubscription(spec);
    const child = startConsumer({ BROKER: 'postgres', DATABASE_URL: url, SUB: spec.name, TOPIC: spec.topic, MODE: 'record', DEADLINE_MS: String(spec.deadlineMs), ARCHIPELAGO_REPLICA: `rh-${id}` });
    await child.waitFor((l) => l === 'ready');
    const holder = `rh-${id}:${child.proc.pid}`;
    // The consumer's claim sessions (it polls at least every second), frozen so that the next
    // claim it sends waits unread in the server's socket, as one sent just before a SIGKILL does.
    // Polled, not slept for: on a busy machine the consumer opens its sessions late.
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      await sleep(100);
      pids = (await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'archipelago-consumer%' AND state = 'idle'`)).rows.map((r) => r.pid);
    }
    expect(pids.length).toBeGreaterThan(0);
    const thaw = () => { for (const pid of pids) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } } };
    try {
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      await broker.publish(spec.topic, [{ id: `m-${id}`, payload: { n: 1 }, publishedAt: new Date() }]);
      await sleep(1500);
      await child.kill('SIGKILL');
      // The supervisor releases at once; the frozen sessions resume while (or after) it does.
      const released = broker.releaseHolder(holder);
      await sleep(300);
      thaw();
      await released;
      await sleep(500);
    } finally {
      thaw();
    }
    const rows = (await db.query<{ holder: string | null; leased: boolean }>(
      'SELECT holder, run_at > now() AS leased FROM archipelago.queue WHERE subscription = $1', [spec.name])).rows;
    expect(rows).toHaveLength(1);
    expect(rows.filter((r) => r.leased && r.holder === holder)).toEqual([]);
  });
});
