// Two embedded PostgreSQL clusters (logical replication on) for the whole test run; each test file
// makes its own database from one of them (see db.ts), so files run in parallel without seeing each
// other's rows. Files that create replication slots use the second: creating a logical slot waits
// for every transaction open in the cluster, and the busy files (queues, chaos runs, load) must not
// hold it up.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedDatabase } from '../../src/database/index.js';

const clusters: EmbeddedDatabase[] = [];
let dir: string | undefined;

async function cluster(name: string): Promise<EmbeddedDatabase> {
  const db = await startEmbedded({ dataDir: path.join(dir!, name) });
  clusters.push(db);
  // A session some file left idle in a transaction must not stall slot creation for good.
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    await admin.query("ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s'");
    await admin.query('SELECT pg_reload_conf()');
  } finally {
    await admin.end();
  }
  return db;
}

export async function setup(project: TestProject) {
  dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-test-pg-'));
  chmodSync(dir, 0o755);
  const [main, cdc] = await Promise.all([cluster('data'), cluster('cdc')]);
  process.env.ARCHIPELAGO_TEST_PG = main.adminUrl;
  project.provide('pgAdminUrl', main.adminUrl);
  project.provide('pgCdcAdminUrl', cdc.adminUrl);
}

export async function teardown() {
  await Promise.all(clusters.map((db) => db.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext { pgAdminUrl: string; pgCdcAdminUrl: string }
}
