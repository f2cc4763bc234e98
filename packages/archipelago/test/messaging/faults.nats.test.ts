// The seeded fault schedules on the nats broker (own stream), with a pool of replica processes;
// SOAK_SEEDS runs more (npm run soak). JetStream cannot hand another connection's deliveries
// back, so a dead replica's messages return when their ack wait lapses; that is the bound.
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBroker, leaseMs } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { NATS_ACK_WAIT_MS } from '../../src/messaging/brokers/nats.js';
import { createTestDatabase } from '../support/db.js';
import { ReplicaPool } from './fault-pool.js';
import { formatCounts, newCounts, runFaultSchedule } from './faults.js';
import { NATS_URL, requireNats } from './nats-env.js';

const run = await requireNats('faults.nats.test.ts');
const seeds = Number(process.env.SOAK_SEEDS ?? 50);
const first = Number(process.env.SOAK_FIRST_SEED ?? 1);
const stream = `faults_${randomBytes(4).toString('hex')}`;
const counts = newCounts();
let url = '';
let pool: pg.Pool | undefined;
let supervisor: Broker | undefined;
let replicas: ReplicaPool | undefined;
beforeAll(async () => {
  if (!run) return;
  url = await createTestDatabase('faults_nats');
  pool = new pg.Pool({ connectionString: url, max: 4 });
  supervisor = createNatsBroker({ url: NATS_URL, stream, databaseUrl: url });
  await supervisor.init();
  // releaseHolder is the supervisor's path on every broker (on nats it has nothing to do).
  replicas = new ReplicaPool({
    size: 3, env: { BROKER: 'nats', DATABASE_URL: url, NATS_URL, NATS_STREAM: stream }, counts,
    releaseHolder: (h) => supervisor!.releaseHolder(h), deadLeaseBoundMs: 0,
  });
  await replicas.ready();
});
afterAll(async () => {
  await replicas?.close();
  await supervisor?.close();
  await pool?.end();
  if (!run) return;
  const nc = await connect({ servers: NATS_URL });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
  await nc.close();
});

describe('fault schedules: nats broker', () => {
  it.runIf(run)(`${seeds} seeded schedules keep every delivery guarantee`, async () => {
    for (let s = first; s < first + seeds; s++) {
      await runFaultSchedule(s, {
        newBroker: async () => createNatsBroker({ url: NATS_URL, stream, databaseUrl: url }), pool: pool!, counts, replicas,
        // The ack wait (the lease, at most 5 s: 3 s for a 2 s deadline) lapses, then a replica's
        // pull (each lasts 1 s) takes the message; 1.5 s of slack.
        pickupBoundMs: (deadlineMs) => Math.min(NATS_ACK_WAIT_MS, leaseMs({ deadlineMs })) + 1500,
      });
    }
    console.log(`faults nats: ${formatCounts(counts)}`, counts.violations.slice(0, 5));
    expect(counts.violations).toEqual([]);
    expect(counts.schedules).toBe(seeds);
  }, Math.max(900_000, seeds * 20_000));
});
