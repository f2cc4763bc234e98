// The seeded fault schedules on the postgres broker; SOAK_SEEDS runs more (npm run soak).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { runFaultSchedule, type FaultCounts } from './faults.js';

const seeds = Number(process.env.SOAK_SEEDS ?? 50);
const first = Number(process.env.SOAK_FIRST_SEED ?? 1);
let url = '';
let pool: pg.Pool;
beforeAll(async () => { url = await createTestDatabase('faults_pg'); pool = new pg.Pool({ connectionString: url, max: 4 }); });
afterAll(async () => { await pool?.end(); });

describe('fault schedules: postgres broker', () => {
  it(`${seeds} seeded schedules keep every delivery guarantee`, async () => {
    const counts: FaultCounts = { schedules: 0, messages: 0, drains: 0, scaleEvents: 0, throws: 0, overruns: 0, violations: [] };
    for (let s = first; s < first + seeds; s++) await runFaultSchedule(s, { newBroker: async () => createPostgresBroker({ databaseUrl: url }), pool, counts });
    console.log(`faults postgres: ${JSON.stringify({ ...counts, violations: counts.violations.length })}`, counts.violations.slice(0, 5));
    expect(counts.violations).toEqual([]);
    expect(counts.schedules).toBe(seeds);
  }, 600_000);
});
