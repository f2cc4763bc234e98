// A relay as a child process SIGKILLed during a 10,000-row burst and restarted delivers every
// change at least once and none is missing.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { dropSlots, SinkBroker, startRelayChild, waitFor, type RelayChild } from './support.js';

let url: string;
let pool: pg.Pool;
let sink: SinkBroker;
const children: RelayChild[] = [];

beforeAll(async () => {
  url = await createTestDatabase('cdccrash', { replication: true });
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

function child(service: string): RelayChild {
  const c = startRelayChild({ DATABASE_URL: url, SERVICE: service, TABLES: 'items', BATCH: '200' });
  children.push(c);
  return c;
}

/** Inserts ids [from, from + count) in transactions of `perTx` rows, one after another. */
async function burst(from: number, count: number, perTx: number): Promise<void> {
  for (let i = from; i < from + count; i += perTx) {
    await pool.query("INSERT INTO items (id, note) SELECT g, 'n' || g FROM generate_series($1::int, $2::int) g", [i, Math.min(i + perTx, from + count) - 1]);
  }
}

const delivered = async (topic: string) => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM cdc_sink WHERE topic = $1', [topic])).rows[0]!.n);

/** Every id in [from, from + count) was delivered; duplicates are replays of the same change. */
async function expectAllDelivered(from: number, count: number) {
  const { rows } = await pool.query<{ id: string; key: number; n: string; payloads: string }>(
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
}

describe('cdc relay processes', () => {
  it('loses nothing when the relay is SIGKILLed during a 10,000-row burst and restarted', async () => {
    const a = child('crash');
    await a.waitForLine('relay is active');
    await waitFor('slot in use', async () => (await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'crash_changes' AND active")).rowCount! > 0, 45_000);
    const writing = burst(0, 10_000, 100);
    await waitFor('first changes delivered', async () => (await delivered('changes.items')) >= 1000, 30_000, 20);
    await a.kill('SIGKILL');
    const atKill = await delivered('changes.items');
    await writing;
    const b = child('crash');
    await b.waitForLine('relay is active');
    await waitFor('all 10,000 changes', async () => (await pool.query<{ n: string }>(
      "SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items'")).rows[0]!.n === '10000', 40_000, 200);
    const replays = await expectAllDelivered(0, 10_000);
    console.log(`SIGKILL at ${atKill}/10000 delivered; ${replays} changes replayed after restart`);
  }, 90_000);

});
