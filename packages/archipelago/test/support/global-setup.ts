// One embedded PostgreSQL (logical replication on) for the whole test run; each test file makes
// its own database from it (see db.ts), so files run in parallel without seeing each other's rows.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedDatabase } from '../../src/database/index.js';

let db: EmbeddedDatabase | undefined;
let dir: string | undefined;

export async function setup(project: TestProject) {
  dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-test-pg-'));
  chmodSync(dir, 0o755);
  db = await startEmbedded({ dataDir: path.join(dir, 'data') });
  // Creating a logical slot waits for every open transaction in the cluster, which all test files
  // share: a session some file left idle in a transaction must not stall the CDC tests for good.
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  await admin.query("ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s'");
  await admin.query('SELECT pg_reload_conf()');
  await admin.end();
  process.env.ARCHIPELAGO_TEST_PG = db.adminUrl;
  project.provide('pgAdminUrl', db.adminUrl);
}

export async function teardown() {
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext { pgAdminUrl: string }
}
