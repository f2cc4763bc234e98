// Connection pools and settings: one place that turns a URL into a pg.Pool.
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';
import { sampledTraceparent } from '../tracing/spans.js';
import { tracePool } from '../tracing/pg.js';
import { tracingConfigured } from '../tracing/sdk.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

/** How long a query waits for a free connection before failing with ARCH_E_POOL_TIMEOUT. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;

const stuck = new WeakMap<pg.Pool, { since: number | undefined }>();

/**
 * Milliseconds this pool has failed every acquire (none succeeded since the first timeout), or 0.
 * A replica whose pool stays exhausted this long is not coming back by itself.
 */
export function poolStuckMs(pool: pg.Pool): number {
  const since = stuck.get(pool)?.since;
  return since === undefined ? 0 : Date.now() - since;
}

function acquireTimeoutFromEnv(): number {
  const raw = process.env.ARCHIPELAGO_POOL_ACQUIRE_TIMEOUT_MS;
  const n = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_ACQUIRE_TIMEOUT_MS;
}

export function createPool(connectionString: string, opts: { max?: number; application?: string; acquireTimeoutMs?: number } = {}): pg.Pool {
  const max = opts.max ?? 10;
  const application = opts.application ?? 'archipelago';
  const acquireMs = opts.acquireTimeoutMs ?? acquireTimeoutFromEnv();
  // connectionTimeoutMillis also bounds the wait for a free client when all `max` are in use:
  // without it an exhausted pool makes every later query wait forever.
  const pool = new pg.Pool({ connectionString, max, application_name: application, connectionTimeoutMillis: acquireMs });
  // An idle client's error (the server restarted) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  if (tracingConfigured()) tracePool(pool, connectionString);
  const state = { since: undefined as number | undefined };
  stuck.set(pool, state);
  const coded = (e: unknown): unknown => {
    if (!(e instanceof Error) || !/timeout exceeded when trying to connect/i.test(e.message)) return e;
    state.since ??= Date.now();
    return new ArchipelagoError('ARCH_E_POOL_TIMEOUT', `no database connection within ${acquireMs} ms (pool "${application}": ${pool.totalCount} of ${max} open, ${pool.waitingCount} waiting); a transaction may be holding connections while it waits for another`);
  };
  // pg-pool's query() acquires through this.connect, so one wrapper covers both paths.
  const connect = pool.connect.bind(pool) as (cb?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => Promise<pg.PoolClient> | undefined;
  (pool as { connect: unknown }).connect = (cb?: (err: unknown, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => {
    if (typeof cb === 'function') {
      return connect((err, client, done) => { if (!err) state.since = undefined; cb(err ? coded(err) : err, client, done); });
    }
    return connect()!.then((c) => { state.since = undefined; return c; }, (e: unknown) => { throw coded(e); });
  };
  return pool;
}

/**
 * The prefix of the logical decoding message a traced transaction leaves in the WAL: the cdc relay
 * reads it (pgoutput's `messages` option) and makes the transaction's row changes part of its trace.
 */
export const TRACE_MESSAGE_PREFIX = 'archipelago.trace';

/**
 * What ends a transaction: COMMIT, preceded inside a sampled span by the span's `traceparent` as a
 * transactional logical decoding message. Only a transaction that wrote (it has an xid) emits one,
 * so read-only ones still write no WAL; both statements go in one round trip (the traceparent is
 * checked to be W3C's exact hex shape before it is put into the text).
 */
function commitStatement(): string {
  const tp = sampledTraceparent();
  return tp ? `SELECT pg_logical_emit_message(true, '${TRACE_MESSAGE_PREFIX}', '${tp}') WHERE txid_current_if_assigned() IS NOT NULL; COMMIT` : 'COMMIT';
}

/** Runs `fn` in a transaction on a client from the pool. */
export async function transaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query(commitStatement());
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
