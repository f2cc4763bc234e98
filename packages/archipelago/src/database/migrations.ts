// SQL migrations: files applied in name order, each once, each in its own transaction, recorded in
// a table. An advisory lock makes concurrent runs (two deploy jobs) wait for each other.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';
import { advisoryLockKey, TOOLKIT_LOCKS } from './locks.js';

const LOCK_KEY = advisoryLockKey(TOOLKIT_LOCKS.migrations);

export interface MigrationResult { applied: string[]; skipped: string[] }

export async function migrate(connectionString: string, dir: string, log: (msg: string) => void = () => {}): Promise<MigrationResult> {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sql')).sort() : [];
  const client = new pg.Client({ connectionString });
  await client.connect();
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS archipelago_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM archipelago_migrations')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) { result.skipped.push(file); continue; }
      const sql = readFileSync(path.join(dir, file), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO archipelago_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw new ArchipelagoError('ARCH_E_MIGRATION_FAILED', `migration ${file} failed and was rolled back: ${(e as Error).message}`);
      }
      log(`applied migration ${file}`);
      result.applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY]).catch(() => {});
    await client.end();
  }
  return result;
}
