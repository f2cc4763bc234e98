// The seeded fault schedules on the nats broker (own stream); SOAK_SEEDS runs more (npm run soak).
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBroker } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { runFaultSchedule, type FaultCounts } from './faults.js';
import { NATS_URL, requireNats } from './nats-env.js';

const run = await requireNats('faults.nats.test.ts');
const seeds = Number(process.env.SOAK_SEEDS ?? 50);
const first = Number(process.env.SOAK_FIRST_SEED ?? 1);
const stream = `faults_${randomBytes(4).toString('hex')}`;
let url = '';
let pool: pg.Pool | undefined;
beforeAll(async () => { if (!run) return; url = await createTestDatabase('faults_nats'); pool = new pg.Pool({ connectionString: url, max: 4 }); });
afterAll(async () => {
  await pool?.end();
  if (!run) return;
  const nc = await connect({ servers: NATS_URL });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
  await nc.close();
});

describe('fault schedules: nats broker', () => {
  it.runIf(run)(`${seeds} seeded schedules keep every delivery guarantee`, async () => {
    const counts: FaultCounts = { schedules: 0, messages: 0, drains: 0, scaleEvents: 0, throws: 0, overruns: 0, violations: [] };
    for (let s = first; s < first + seeds; s++) await runFaultSchedule(s, { newBroker: async () => createNatsBroker({ url: NATS_URL, stream, databaseUrl: url }), pool: pool!, counts });
    console.log(`faults nats: ${JSON.stringify({ ...counts, violations: counts.violations.length })}`, counts.violations.slice(0, 5));
    expect(counts.violations).toEqual([]);
    expect(counts.schedules).toBe(seeds);
  }, 600_000);
});
