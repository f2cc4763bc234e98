// A fresh database per test file on the run's embedded PostgreSQL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export function adminUrl(opts: { replication?: boolean } = {}): string {
  return opts.replication ? inject('pgCdcAdminUrl') : inject('pgAdminUrl');
}

/**
 * Creates an empty database and returns its URL. `replication: true` puts it on the cluster kept
 * for files that create logical replication slots (see global-setup.ts).
 */
export async function createTestDatabase(prefix = 't', opts: { replication?: boolean } = {}): Promise<string> {
  const admin = adminUrl(opts);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await c.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
