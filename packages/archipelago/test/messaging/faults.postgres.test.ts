// The seeded fault schedules on the postgres broker, with a pool of replica processes; SOAK_SEEDS
// runs more (npm run soak). A dead replica's leases are read from archipelago.queue.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';
import { ReplicaPool } from './fault-pool.js';
import { formatCounts, newCounts, runFaultSchedule } from './faults.js';

const seeds = Number(process.env.SOAK_SEEDS ?? 50);
const first = Number(process.env.SOAK_FIRST_SEED ?? 1);
const counts = newCounts();
let url = '';
let pool: pg.Pool;
let supervisor: Broker;
let replicas: ReplicaPool;
beforeAll(async () => {
  url = await createTestDatabase('faults_pg');
  pool = new pg.Pool({ connectionString: url, max: 4 });
  // The broker the supervisor would release dead replicas' leases with.
  supervisor = createPostgresBroker({ databaseUrl: url });
  await supervisor.init();
  replicas = new ReplicaPool({
    size: 3, env: { BROKER: 'postgres', DATABASE_URL: url }, counts,
    releaseHolder: (h) => supervisor.releaseHolder(h),
    leasedBy: async (h) => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archipelago.queue WHERE holder = $1 AND run_at > now()', [h])).rows[0]!.n,
    // Released at once on exit: 2 s is slack for a loaded machine, and less than the 3 s lease a
    // missing release would leave.
    deadLeaseBoundMs: 2000,
  });
  await replicas.ready();
});
afterAll(async () => { await replicas?.close(); await supervisor?.close(); await pool?.end(); });

describe('fault schedules: postgres broker', () => {
  it(`${seeds} seeded schedules keep every delivery guarantee`, async () => {
    for (let s = first; s < first + seeds; s++) {
      await runFaultSchedule(s, {
        newBroker: async () => createPostgresBroker({ databaseUrl: url }), pool, counts, replicas,
        // Released at once on exit and woken by NOTIFY; 2 s is slack for a loaded machine, and
        // less than the 3 s lease a missing release would leave.
        pickupBoundMs: () => 2000,
      });
    }
    console.log(`faults postgres: ${formatCounts(counts)}`, counts.violations.slice(0, 5));
    expect(counts.violations).toEqual([]);
    expect(counts.schedules).toBe(seeds);
  }, Math.max(900_000, seeds * 20_000));
});
