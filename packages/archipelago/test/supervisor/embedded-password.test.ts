// `archipelago up` on its own embedded PostgreSQL: the units connect with the data directory's
// random password, which lives in `.archipelago/pg.password` (0600); postgres/postgres is refused.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { readDatabaseFile } from '../../src/supervisor/supervised-database.js';
import { embeddedUps, query } from './embedded-up.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });
const ups = embeddedUps();

describe('archipelago up: the embedded database password', () => {
  it('is random, kept 0600 under .archipelago/, used by every unit, and the old login is refused', async () => {
    const u = await ups.start();
    const file = path.join(u.dir, '.archipelago/pg.password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pw = readFileSync(file, 'utf8').trim();
    const url = new URL(readDatabaseFile(u.dir)!);
    expect(decodeURIComponent(url.password)).toBe(pw);
    // The deploy job and the units got in: every unit is ready (ups.start waits for it) and they wrote.
    expect((await query<{ n: number }>(u.dir, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [url.pathname.slice(1)]))[0]!.n).toBeGreaterThan(1);
    const c = new pg.Client({ host: '127.0.0.1', port: Number(url.port), user: 'postgres', password: 'postgres', database: 'postgres' });
    c.on('error', () => {});
    await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
    await c.end().catch(() => {});
  });
});
