// Connection pools and settings: one place that turns a URL into a pg.Pool.
import pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export function createPool(connectionString: string, opts: { max?: number; application?: string } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10, application_name: opts.application ?? 'archipelago' });
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** Runs `fn` in a transaction on a client from the pool. */
export async function transaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
