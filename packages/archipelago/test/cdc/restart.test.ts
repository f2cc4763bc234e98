// PostgreSQL itself restarts while a relay process streams: the relay reconnects with backoff and
// every change arrives at least once. Uses its own embedded server so it can stop and start it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedDatabase } from '../../src/database/index.js';
import { startRelayChild, waitFor, type RelayChild } from './support.js';

let dir: string;
let db: EmbeddedDatabase | undefined;
let relay: RelayChild | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-cdc-restart-'));
  chmodSync(dir, 0o755);
  db = await startEmbedded({ dataDir: path.join(dir, 'data') });
});

afterAll(async () => {
  await relay?.kill('SIGKILL');
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function withPool<T>(url: string, fn: (p: pg.Pool) => Promise<T>): Promise<T> {
  const p = new pg.Pool({ connectionString: url, max: 2 });
  p.on('error', () => {});
  try { return await fn(p); } finally { await p.end(); }
}

const distinct = (p: pg.Pool) => p.query<{ n: string }>("SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items'").then((r) => Number(r.rows[0]!.n));

it('loses nothing when PostgreSQL restarts mid-stream', async () => {
  const url = await db!.ensureDatabase('restart');
  await withPool(url, async (p) => {
    await p.query('CREATE TABLE IF NOT EXISTS cdc_sink (seq bigserial PRIMARY KEY, id text NOT NULL, topic text NOT NULL, payload jsonb NOT NULL, published_at timestamptz NOT NULL)');
    await p.query('CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)');
  });
  relay = startRelayChild({ DATABASE_URL: url, SERVICE: 'restart', TABLES: 'items', BATCH: '200', LOG_LEVEL: 'debug' });
  await relay.waitForLine('relay is active');
  await withPool(url, (p) => waitFor('slot in use', async () => (await p.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'restart_changes' AND active")).rowCount! > 0));

  let atStop = 0;
  await withPool(url, async (p) => {
    for (let i = 0; i < 5000; i += 100) {
      await p.query("INSERT INTO items (id, note) SELECT g, 'n' || g FROM generate_series($1::int, $2::int) g", [i, i + 99]);
    }
    await waitFor('first changes delivered', async () => (atStop = await distinct(p)) >= 500, 30_000, 20);
  });
  const port = db!.port;
  await db!.stop();
  db = await startEmbedded({ dataDir: path.join(dir, 'data'), port });
  await withPool(url, async (p) => {
    for (let i = 5000; i < 10_000; i += 100) {
      await p.query("INSERT INTO items (id, note) SELECT g, 'n' || g FROM generate_series($1::int, $2::int) g", [i, i + 99]);
    }
    await waitFor('all 10,000 changes', async () => (await distinct(p)) === 10_000, 45_000, 200).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}: ${await distinct(p)} arrived; relay output:\n${relay!.output.slice(-30).join('\n')}`);
    });
    const { rows } = await p.query<{ key: number }>("SELECT DISTINCT (payload->'after'->>'id')::int AS key FROM cdc_sink WHERE topic = 'changes.items'");
    const keys = new Set(rows.map((r) => r.key));
    const missing = Array.from({ length: 10_000 }, (_, i) => i).filter((i) => !keys.has(i));
    expect(missing).toEqual([]);
    const total = Number((await p.query<{ n: string }>('SELECT count(*) AS n FROM cdc_sink')).rows[0]!.n);
    console.log(`PostgreSQL stopped at ${atStop}/5000 delivered; ${total - 10_000} changes replayed`);
  });
  expect(relay.output.some((l) => l.includes('reconnecting') || l.includes('restarting it'))).toBe(true);
  // Waiting out the outage must not let the relay process run out of work and exit.
  expect(relay.proc.exitCode).toBeNull();
  expect(relay.proc.signalCode).toBeNull();
}, 90_000);
