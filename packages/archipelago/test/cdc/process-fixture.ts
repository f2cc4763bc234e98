// The fixture of the relay-process tests (crash, takeover): a database on the replication cluster
// with an `items` table, a sink broker, relay child processes killed after each test, and the
// checks on what reached the sink. Call it at the top level of a test file; it registers its hooks.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { dropSlots, SinkBroker, startRelayChild, type RelayChild } from './support.js';

export interface RelayProcessFixture {
  /** Set once the file's `beforeAll` ran: read them inside tests, do not destructure. */
  readonly pool: pg.Pool;
  readonly url: string;
  /** A relay child for `service`, killed after the test. */
  child(service: string): RelayChild;
  /** Inserts ids [from, from + count) in transactions of `perTx` rows, one after another. */
  burst(from: number, count: number, perTx: number): Promise<void>;
  /** Messages the sink holds for `topic`. */
  delivered(topic: string): Promise<number>;
  /** Asserts every id in [from, from + count) arrived, each change with one id and one content; returns the replays. */
  expectAllDelivered(from: number, count: number): Promise<number>;
}

export function relayProcessFixture(prefix: string): RelayProcessFixture {
  let url = '';
  let pool: pg.Pool | undefined;
  let sink: SinkBroker | undefined;
  const children: RelayChild[] = [];
  const db = () => {
    if (!pool) throw new Error('relayProcessFixture: used before beforeAll');
    return pool;
  };

  beforeAll(async () => {
    url = await createTestDatabase(prefix, { replication: true });
    pool = new pg.Pool({ connectionString: url, max: 4 });
    sink = new SinkBroker(url);
    await sink.init();
    await pool.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await sink?.close();
    if (pool) await dropSlots(pool);
    await pool?.end();
  });

  return {
    get pool() { return db(); },
    get url() { return url; },
    child(service) {
      const c = startRelayChild({ DATABASE_URL: url, SERVICE: service, TABLES: 'items', BATCH: '200' });
      children.push(c);
      return c;
    },
    async burst(from, count, perTx) {
      for (let i = from; i < from + count; i += perTx) {
        await db().query("INSERT INTO items (id, note) SELECT g, 'n' || g FROM generate_series($1::int, $2::int) g", [i, Math.min(i + perTx, from + count) - 1]);
      }
    },
    async delivered(topic) {
      return Number((await db().query<{ n: string }>('SELECT count(*) AS n FROM cdc_sink WHERE topic = $1', [topic])).rows[0]!.n);
    },
    async expectAllDelivered(from, count) {
      const { rows } = await db().query<{ id: string; key: number; n: string; payloads: string }>(
        `SELECT id, (payload->'after'->>'id')::int AS key, count(*) AS n, count(DISTINCT payload) AS payloads
           FROM cdc_sink WHERE topic = 'changes.items' AND (payload->'after'->>'id')::int BETWEEN $1 AND $2 GROUP BY id, key`,
        [from, from + count - 1]);
      const keys = new Set(rows.map((r) => r.key));
      const missing: number[] = [];
      for (let i = from; i < from + count; i++) if (!keys.has(i)) missing.push(i);
      expect(missing).toEqual([]);
      // One message id per row change, however often it was replayed, and the same content each time.
      expect(rows.length).toBe(count);
      expect(rows.every((r) => Number(r.payloads) === 1)).toBe(true);
      return rows.reduce((s, r) => s + Number(r.n) - 1, 0);
    },
  };
}
