import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/database/index.js';
import { createTestDatabase } from '../support/db.js';

describe('database', () => {
  it('runs with wal_level=logical so CDC can work', async () => {
    const url = await createTestDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query('SHOW wal_level');
    await c.end();
    expect(r.rows[0].wal_level).toBe('logical');
  });

  it('applies migrations in order, each once, and rolls back a failing one', async () => {
    const url = await createTestDatabase();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '001_a.sql'), 'CREATE TABLE a (id int);');
    writeFileSync(path.join(dir, '002_b.sql'), 'INSERT INTO a VALUES (1);');
    expect((await migrate(url, dir)).applied).toEqual(['001_a.sql', '002_b.sql']);
    expect((await migrate(url, dir)).applied).toEqual([]);
    writeFileSync(path.join(dir, '003_bad.sql'), 'INSERT INTO a VALUES (2); SELECT nope FROM nowhere;');
    await expect(migrate(url, dir)).rejects.toMatchObject({ code: 'ARCH_E_MIGRATION_FAILED' });
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query('SELECT count(*)::int AS n FROM a');
    await c.end();
    expect(r.rows[0].n).toBe(1);
  });
});
