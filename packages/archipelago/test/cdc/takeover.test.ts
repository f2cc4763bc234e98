// A hot standby relay process takes over when the active relay process is SIGKILLed mid-stream,
// and every change still arrives.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { dropSlots, SinkBroker, startRelayChild, waitFor, type RelayChild } from './support.js';

let url: string;
let pool: pg.Pool;
let sink: SinkBroker;
const children: RelayChild[] = [];

beforeAll(async () => {
  url = await createTestDatabase('cdcstandby', { replication: true });
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
  it('a standby process takes over when the active relay is killed', async () => {
    // Both start together (process start-up dominates); whichever wins the lock is the active one.
    const first = child('pair');
    const second = child('pair');
    const active = [first, second].map((c) => c.waitForLine('relay is active').then(() => c));
    for (const p of active) p.catch(() => {}); // the loser's wait ends when it is killed
    const winner = await Promise.race(active);
    const a = winner;
    const b = winner === first ? second : first;
    await b.waitForLine('waiting on standby');
    expect(b.output.some((l) => l.includes('relay is active'))).toBe(false);
    await pool.query('TRUNCATE cdc_sink');
    const writing = burst(20_000, 2000, 50);
    await waitFor('first changes delivered', async () => (await delivered('changes.items')) >= 300, 30_000, 20);
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitForLine('relay is active');
    const tookOverMs = Date.now() - killedAt;
    await writing;
    await waitFor('all 2,000 changes', async () => (await pool.query<{ n: string }>(
      "SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items'")).rows[0]!.n === '2000', 120_000, 200);
    await expectAllDelivered(20_000, 2000);
    console.log(`standby took over ${tookOverMs} ms after the active relay was killed`);
  }, 240_000);
});
