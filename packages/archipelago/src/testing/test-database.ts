// A migrated throwaway database for a service's tests (embedded PostgreSQL, or a fresh database on
// the server of TEST_DATABASE_URL), so they exercise its real SQL without a supervisor.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { startEmbedded } from '../database/embedded.js';
import { migrate } from '../database/migrations.js';
import { createPool } from '../database/pool.js';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Migrations folder applied to the new database. Default `migrations` (relative to the working directory). */
  migrations?: string | false;
  /** Server to create the database on (its URL names any existing database). Default `TEST_DATABASE_URL`, else an embedded PostgreSQL in a temporary folder. */
  serverUrl?: string;
}

/** A new, migrated database, dropped (or its embedded server stopped and deleted) by `close()`. */
export async function startTestDatabase(opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `test_${process.pid}_${Date.now().toString(36)}`;
  const serverUrl = opts.serverUrl ?? process.env.TEST_DATABASE_URL;
  let url: string;
  let stopServer = async () => {};
  if (serverUrl) {
    const admin = createPool(serverUrl, { max: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    url = u.toString();
    stopServer = async () => {
      const a = createPool(serverUrl, { max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  } else {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-test-pg-'));
    // Run as root, the server runs as the `postgres` user, which must reach its data below this folder.
    chmodSync(dataDir, 0o755);
    const server = await startEmbedded({ dataDir: path.join(dataDir, 'pg') });
    url = await server.ensureDatabase(name);
    stopServer = async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const migrations = opts.migrations ?? 'migrations';
  if (migrations !== false) await migrate(url, path.resolve(migrations));
  const pool = createPool(url, { application: 'archipelago-test' });
  let closed: Promise<void> | undefined;
  return {
    url, pool,
    close: () => (closed ??= pool.end().finally(stopServer)),
  };
}
