// Test support: a migrated database of its own per test file (on the PostgreSQL the test run's
// global setup provides) and a unit's context from `archipelago-toolkit/testing`.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadService, migrate } from 'archipelago-toolkit';
import { createTestContext, type TestContext } from 'archipelago-toolkit/testing';
import pg from 'pg';
import { inject } from 'vitest';

export type { TestContext } from 'archipelago-toolkit/testing';
export const SERVICE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONFIG = path.join(SERVICE_ROOT, 'archipelago.config.ts');

/** An empty database of its own on the test run's PostgreSQL (`replication`: the cluster kept for logical replication slots). */
export async function createDatabase(prefix = 'appapi', opts: { replication?: boolean } = {}): Promise<string> {
  const admin = opts.replication ? inject('pgCdcAdminUrl') : inject('pgAdminUrl');
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

/** The `archipelago` executable of the installed toolkit, as `npx archipelago` would run it. */
export const ARCHIPELAGO_BIN = path.join(path.dirname(createRequire(import.meta.url).resolve('archipelago-toolkit/package.json')), 'bin/archipelago.js');

export async function migratedDatabase(): Promise<string> {
  const url = await createDatabase();
  await migrate(url, path.join(SERVICE_ROOT, 'migrations'));
  return url;
}

/** The context of unit `unitName` on database `url`, publishes and broadcasts recorded. */
export async function unitContext(url: string, unitName: string, opts: { config?: Record<string, string>; root?: string } = {}): Promise<TestContext> {
  const { service } = await loadService(CONFIG);
  return createTestContext({ service, unit: unitName, databaseUrl: url, ...opts });
}
