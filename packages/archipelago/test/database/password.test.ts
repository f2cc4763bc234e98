// The embedded PostgreSQL's superuser has a random password per data directory, kept in a 0600 file
// beside it: the well-known postgres/postgres is refused over TCP, and an old data directory that
// still has it gets a new one on its next start.
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedDatabase } from '../../src/database/index.js';
import { passwordFile } from '../../src/database/password.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'arch-pgpw-'));
// The server runs as the postgres user when we are root: it must reach its data folder.
chmodSync(root, 0o755);
const running = new Set<EmbeddedDatabase>();
afterAll(async () => {
  await Promise.all([...running].map((db) => db.stop()));
  rmSync(root, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<EmbeddedDatabase> {
  const db = await startEmbedded({ dataDir });
  running.add(db);
  return db;
}
async function stop(db: EmbeddedDatabase): Promise<void> {
  await db.stop();
  running.delete(db);
}

/** Logs in over TCP; resolves to 'ok' or the server's error code (28P01: password authentication failed). */
async function login(port: number, password: string): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  } finally {
    await c.end().catch(() => {});
  }
}

describe('embedded PostgreSQL password', { timeout: 120_000 }, () => {
  it('is random per data directory, kept in a 0600 file, and postgres/postgres is refused over TCP', async () => {
    const a = path.join(root, 'a', 'pg');
    const db = await start(a);
    const pw = readFileSync(passwordFile(a), 'utf8').trim();
    expect(statSync(passwordFile(a)).mode & 0o777).toBe(0o600);
    expect(pw.length).toBeGreaterThanOrEqual(32);
    expect(db.adminUrl).toBe(`postgres://postgres:${pw}@127.0.0.1:${db.port}/postgres`);
    expect(await login(db.port, 'postgres')).toBe('28P01');
    expect(await login(db.port, pw)).toBe('ok');
    const url = await db.ensureDatabase('shop');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    expect((await c.query('SELECT current_database() AS d')).rows[0].d).toBe('shop');
    await c.end();

    // The same directory keeps its password across restarts; another directory gets its own.
    await stop(db);
    const again = await start(a);
    expect(await login(again.port, pw)).toBe('ok');
    const b = path.join(root, 'b', 'pg');
    const other = await start(b);
    const otherPw = readFileSync(passwordFile(b), 'utf8').trim();
    expect(otherPw).not.toBe(pw);
    expect(await login(other.port, pw)).toBe('28P01');
  });

  it('replaces the old well-known password of a data directory made before', async () => {
    const dir = path.join(root, 'old', 'pg');
    const db = await start(dir);
    // What an older version left: the superuser's password is "postgres", and no password file.
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    await admin.query("ALTER ROLE postgres PASSWORD 'postgres'");
    await admin.end();
    await stop(db);
    unlinkSync(passwordFile(dir));

    const upgraded = await start(dir);
    const pw = readFileSync(passwordFile(dir), 'utf8').trim();
    expect(statSync(passwordFile(dir)).mode & 0o777).toBe(0o600);
    expect(pw).not.toBe('postgres');
    expect(await login(upgraded.port, 'postgres')).toBe('28P01');
    expect(await login(upgraded.port, pw)).toBe('ok');
  });
});
