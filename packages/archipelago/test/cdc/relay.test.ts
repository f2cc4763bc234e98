// The relay in-process against real PostgreSQL: order, before/after, schema changes, a broker
// outage, lag reporting, and the coded error for a server without logical WAL.
import pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { changeTopic, startRelay, type Relay } from '../../src/cdc/index.js';
import { resolveService } from '../../src/service/index.js';
import type { ResolvedCdcUnit } from '../../src/service/types.js';
import { transaction } from '../../src/database/pool.js';
import { isArchipelagoError } from '../../src/errors.js';
import { createTestDatabase } from '../support/db.js';
import { dropSlots, SinkBroker, sinkRows, waitFor } from './support.js';

let url: string;
let pool: pg.Pool;
let broker: SinkBroker;
const relays: Relay[] = [];
const logLines: Record<string, unknown>[] = [];
const logger = pino({ level: 'debug' }, { write: (l: string) => { logLines.push(JSON.parse(l) as Record<string, unknown>); } });

function unitFor(service: string, tables: string[], extra: Record<string, unknown> = {}) {
  const s = resolveService({ name: service, units: [{ name: 'changes', kind: 'cdc', tables, ...extra }] });
  return { service: s, unit: s.units[0] as ResolvedCdcUnit };
}

async function relay(service: string, tables: string[], extra: Record<string, unknown> = {}, metrics?: Registry): Promise<Relay> {
  const r = await startRelay({ ...unitFor(service, tables, extra), databaseUrl: url, broker, logger, metrics, pollMs: 200 });
  relays.push(r);
  await waitFor('relay to become active', async () => r.status().state === 'active');
  // Creating a slot waits for every transaction then running in the cluster to end, and other
  // test files share this server: allow for their transactions.
  await waitFor('slot', async () => (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [r.status().slot])).rowCount! > 0, 45_000);
  return r;
}

const inTransaction = (fn: (c: pg.PoolClient) => Promise<void>): Promise<void> => transaction(pool, fn);

beforeAll(async () => {
  url = await createTestDatabase('cdc', { replication: true });
  pool = new pg.Pool({ connectionString: url, max: 4 });
  broker = new SinkBroker(url);
  await broker.init();
  await pool.query(`CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL, votes int NOT NULL DEFAULT 0);
                    CREATE TABLE comments (id int PRIMARY KEY, post_id int NOT NULL, body text);
                    CREATE TABLE ignored (id int PRIMARY KEY)`);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop(0)));
  broker.failing = false;
  // A failed test leaves its rows behind; the next one starts from empty tables either way.
  await pool.query('TRUNCATE cdc_sink, posts, comments, ignored');
  // Each test uses its own slot; drop them so no WAL is kept.
  await dropSlots(pool);
});

afterAll(async () => {
  await pool?.end();
  await broker?.close();
});

describe('cdc relay', () => {
  it('publishes inserts, updates and deletes in commit order per table, with before, after and stable ids', async () => {
    const r = await relay('order', ['posts', 'comments']);
    await pool.query("INSERT INTO posts (id, title) VALUES (1, 'a'), (2, 'b')");
    await pool.query("INSERT INTO comments (id, post_id, body) VALUES (10, 1, 'x')");
    await pool.query("UPDATE posts SET votes = votes + 1 WHERE id = 1");
    await pool.query('INSERT INTO ignored VALUES (1)');
    await inTransaction(async (c) => {
      await c.query("UPDATE posts SET title = 'b2' WHERE id = 2");
      await c.query('DELETE FROM comments WHERE id = 10');
      await c.query('DELETE FROM posts WHERE id = 1');
    });

    const rows = await waitFor('7 changes', async () => { const r2 = await sinkRows(pool); return r2.length >= 7 && r2; });
    expect(rows).toHaveLength(7);
    const posts = rows.filter((x) => x.topic === changeTopic('changes', 'posts').name).map((x) => x.payload);
    const comments = rows.filter((x) => x.topic === 'changes.comments').map((x) => x.payload);
    expect(posts.map((p) => [p.op, p.after?.id ?? p.before?.id])).toEqual([['insert', 1], ['insert', 2], ['update', 1], ['update', 2], ['delete', 1]]);
    expect(comments.map((p) => p.op)).toEqual(['insert', 'delete']);
    // REPLICA IDENTITY FULL: updates and deletes carry the whole old row.
    expect(posts[2]).toMatchObject({ table: 'posts', before: { id: 1, title: 'a', votes: 0 }, after: { id: 1, title: 'a', votes: 1 } });
    expect(posts[4]!.before).toEqual({ id: 1, title: 'a', votes: 1 });
    expect(posts[4]!.after).toBeUndefined();
    expect(comments[1]!.before).toEqual({ id: 10, post_id: 1, body: 'x' });
    const ident = await pool.query("SELECT relname, relreplident FROM pg_class WHERE relname IN ('posts','comments','ignored') ORDER BY relname");
    expect(ident.rows).toEqual([{ relname: 'comments', relreplident: 'f' }, { relname: 'ignored', relreplident: 'd' }, { relname: 'posts', relreplident: 'f' }]);
    // The last transaction's three changes share its commit position and are numbered within it.
    // Topics are published side by side, so pick the last transaction's rows by xid and order them by id.
    const lastXid = posts[4]!.xid;
    const last = rows.filter((x) => x.payload.xid === lastXid).sort((x, y) => x.id.localeCompare(y.id));
    const commit = last[0]!.id.split(':')[0];
    expect(last.map((x) => x.id)).toEqual([`${commit}:0`, `${commit}:1`, `${commit}:2`]);
    expect(new Set(last.map((x) => x.payload.xid)).size).toBe(1);
    expect(Number.isNaN(Date.parse(last[0]!.payload.committedAt))).toBe(false);
    expect(r.status().changesRelayed).toBe(7);
    // Confirmed only what the broker accepted: the slot moved past the last commit.
    await waitFor('slot confirmed past the last commit', async () => {
      const s = await pool.query<{ ok: boolean }>("SELECT confirmed_flush_lsn > $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1", [r.status().slot, commit]);
      return s.rows[0]?.ok;
    });
  });

  it('keeps relaying after a column is added to a watched table', async () => {
    await relay('schema', ['posts']);
    await pool.query("INSERT INTO posts (id, title) VALUES (100, 'before')");
    await waitFor('first change', async () => (await sinkRows(pool)).length >= 1);
    await pool.query("ALTER TABLE posts ADD COLUMN tags text[] NOT NULL DEFAULT '{}'");
    await pool.query("INSERT INTO posts (id, title, tags) VALUES (101, 'after', '{a,b}')");
    await pool.query("UPDATE posts SET tags = '{c}' WHERE id = 100");
    const rows = await waitFor('three changes', async () => { const r2 = await sinkRows(pool); return r2.length >= 3 && r2; });
    expect(rows[1]!.payload.after).toMatchObject({ id: 101, title: 'after', tags: ['a', 'b'] });
    expect(rows[2]!.payload).toMatchObject({ op: 'update', before: { id: 100, tags: [] }, after: { id: 100, tags: ['c'] } });
    await pool.query('ALTER TABLE posts DROP COLUMN tags');
    await pool.query('DELETE FROM posts');
  });

  it('holds changes and the slot position while the broker is down, then delivers them all', async () => {
    const r = await relay('outage', ['comments']);
    broker.failing = true;
    const calls = broker.publishCalls;
    for (let i = 0; i < 20; i++) await pool.query('INSERT INTO comments (id, post_id) VALUES ($1, 1)', [1000 + i]);
    await waitFor('retries against the refusing broker', async () => broker.publishCalls >= calls + 3);
    const confirmed = r.status().confirmedLsn;
    const { rows: [cur] } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    // Nothing past the outage was confirmed.
    const { rows: [cmp] } = await pool.query<{ behind: boolean }>('SELECT $1::pg_lsn < $2::pg_lsn AS behind', [confirmed, cur!.lsn]);
    expect(cmp!.behind).toBe(true);
    expect(r.status().lagSeconds).toBeGreaterThan(0);
    expect(logLines.some((l) => String(l.msg).includes('broker refused changes'))).toBe(true);
    broker.failing = false;
    const rows = await waitFor('20 changes after the outage', async () => { const r2 = await sinkRows(pool); return r2.length >= 20 && r2; });
    expect(rows.map((x) => x.payload.after?.id)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + i));
    await waitFor('no lag once delivered', async () => r.status().lagSeconds === 0);
    await pool.query('DELETE FROM comments');
  });

  it('relays a long transaction in chunks, numbered within its commit, and confirms it once complete', async () => {
    const r = await relay('longtx', ['comments']);
    await inTransaction(async (c) => {
      await c.query("INSERT INTO comments (id, post_id, body) SELECT g, 1, repeat('x', 100) FROM generate_series(10001, 12600) g");
      await c.query("UPDATE comments SET body = 'y' WHERE id <= 10100");
    });
    const rows = await waitFor('2,700 changes', async () => { const r2 = await sinkRows(pool); return r2.length >= 2700 && r2; });
    expect(rows).toHaveLength(2700);
    const commit = rows[0]!.id.split(':')[0];
    expect(rows.map((x) => x.id)).toEqual(Array.from({ length: 2700 }, (_, i) => `${commit}:${i}`));
    expect(rows.slice(2600).every((x) => x.payload.op === 'update' && x.payload.after?.body === 'y')).toBe(true);
    await waitFor('confirmed', async () => r.status().lagSeconds === 0 && r.status().changesRelayed === 2700);
    await pool.query('DELETE FROM comments');
  });

  it('reports lag and retained WAL as metrics and status, and warns past maxRetainedBytes', async () => {
    const registry = new Registry();
    const r = await relay('lag', ['posts'], { maxRetainedBytes: 1 }, registry);
    await pool.query("INSERT INTO posts (id, title) VALUES (200, 'x')");
    await waitFor('change', async () => (await sinkRows(pool)).length >= 1);
    await waitFor('a lag reading', async () => r.status().lagBytes !== null && r.status().retainedBytes !== null);
    const st = r.status();
    expect(st).toMatchObject({ state: 'active', slot: 'lag_changes', publication: 'lag_changes' });
    expect(st.confirmedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const text = await registry.metrics();
    for (const name of ['archipelago_cdc_lag_bytes', 'archipelago_cdc_lag_seconds', 'archipelago_cdc_retained_wal_bytes', 'archipelago_cdc_active', 'archipelago_cdc_changes_total']) {
      expect(text).toContain(`${name}{service="lag",unit="changes"}`);
    }
    expect(text).toContain('archipelago_cdc_active{service="lag",unit="changes"} 1');
    await waitFor('retained WAL warning', async () => logLines.some((l) => String(l.msg).includes("pg_drop_replication_slot('lag_changes')")));
    await pool.query('DELETE FROM posts');
  });

  it('waits as a standby while another relay of the service holds the lock, and takes over when it stops', async () => {
    const a = await relay('pair', ['posts']);
    const b = await startRelay({ ...unitFor('pair', ['posts']), databaseUrl: url, broker, logger, pollMs: 200 });
    relays.push(b);
    await new Promise((res) => setTimeout(res, 600));
    expect(b.status().state).toBe('standby');
    await a.stop(1000);
    expect(a.status().state).toBe('stopped');
    await waitFor('standby to take over', async () => b.status().state === 'active');
    await pool.query("INSERT INTO posts (id, title) VALUES (300, 'y')");
    const rows = await waitFor('change via the new active relay', async () => { const r2 = await sinkRows(pool); return r2.length >= 1 && r2; });
    expect(rows[0]!.payload.after).toMatchObject({ id: 300 });
    expect(b.status().changesRelayed).toBe(1);
    await pool.query('DELETE FROM posts');
  });

  it('fails with a clear error when a watched table does not exist', async () => {
    const err = await startRelay({ ...unitFor('missing', ['nope']), databaseUrl: url, broker, logger }).catch((e: unknown) => e);
    expect(isArchipelagoError(err) && err.code).toBe('ARCH_E_CDC_SLOT');
    expect((err as Error).message).toContain('"nope"');
  });
});

describe('cdc against a server without logical WAL', () => {
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  it('fails with ARCH_E_CDC_NOT_LOGICAL saying what to change', async (ctx) => {
    const c = new pg.Client({ connectionString: local, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    let level: string | undefined;
    try {
      await c.connect();
      level = (await c.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    } catch (e) {
      if (process.env.CI === 'true') throw e;
      console.log(`skipped: no PostgreSQL at ${local} (${(e as Error).message})`);
    } finally {
      await c.end().catch(() => {});
    }
    if (level === undefined) return ctx.skip();
    if (level === 'logical') {
      console.log(`skipped: the PostgreSQL at ${local} already runs with wal_level = logical`);
      return ctx.skip();
    }
    const err = await startRelay({ ...unitFor('plain', ['posts']), databaseUrl: local, broker, logger }).catch((e: unknown) => e);
    expect(isArchipelagoError(err) && err.code).toBe('ARCH_E_CDC_NOT_LOGICAL');
    expect((err as Error).message).toContain('ALTER SYSTEM SET wal_level = logical');
    expect((err as Error).message).toContain('restart');
  });
});
