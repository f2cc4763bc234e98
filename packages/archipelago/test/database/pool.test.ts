// The pool's acquire timeout turns exhaustion into a coded error instead of an endless wait.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, poolStuckMs } from '../../src/database/pool.js';
import { createTestDatabase } from '../support/db.js';

let url = '';
beforeAll(async () => { url = await createTestDatabase('pool'); });

describe('createPool', () => {
  const pools: ReturnType<typeof createPool>[] = [];
  afterAll(async () => { for (const p of pools) await p.end(); });

  it('fails a query and a connect with ARCH_E_POOL_TIMEOUT while every connection is held, and recovers when one is freed', async () => {
    const pool = createPool(url, { max: 1, application: 'pool-test', acquireTimeoutMs: 200 });
    pools.push(pool);
    const held = await pool.connect();
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ARCH_E_POOL_TIMEOUT', message: expect.stringContaining('pool "pool-test": 1 of 1 open') });
    await expect(pool.connect()).rejects.toMatchObject({ code: 'ARCH_E_POOL_TIMEOUT' });
    expect(poolStuckMs(pool)).toBeGreaterThan(0);
    held.release();
    expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
    expect(poolStuckMs(pool)).toBe(0);
  });
});
