// A cdc unit under `archipelago run`: the relay starts, reports ready and drains on SIGTERM.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica } from '../support/replica-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.resolve(here, '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_cdc', { replication: true });
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  await c.query('CREATE TABLE fixture_rows (id int PRIMARY KEY, note text)');
  await c.end();
});
afterAll(() => killAll());

describe('cdc host', { timeout: 120_000 }, () => {
  it('runs the relay, then drains it on SIGTERM and exits 0', async () => {
    const r = startReplica(['run', 'changes', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0' } });
    const { adminPort } = await r.message('arch:listening');
    await r.message('arch:ready');
    expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
  });
});
