// `archipelago up` on a copy of the shutdown fixture with its own embedded PostgreSQL (no
// DATABASE_URL), and ways to look at that database and its processes from outside.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startEmbedded } from '../../src/database/index.js';
import { readDatabaseFile } from '../../src/supervisor/supervised-database.js';
import { afterEach } from 'vitest';
import { copyFixture, freePort, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

export interface EmbeddedUp {
  dir: string;
  port: number;
  sup: Running;
}

/**
 * `up` runs for one test at a time: `start` runs it detached (its own process group, as a terminal's
 * foreground job) and waits until every unit is ready; after each test its group and its postmaster
 * are killed and its folder removed.
 */
export function embeddedUps(): { start(args?: string[], env?: Record<string, string>): Promise<EmbeddedUp> } {
  let current: EmbeddedUp | undefined;
  afterEach(() => {
    const up = current;
    current = undefined;
    killGroup(up?.sup.pid);
    const pm = up && postmasterPid(up.dir);
    if (pm && alive(pm)) process.kill(pm, 'SIGKILL');
    removeDir(up?.dir);
  });
  return {
    async start(args = [], env = {}) {
      const dir = copyFixture('shutdown');
      // The embedded server runs as the postgres user when we are root: it must reach its data folder.
      chmodSync(dir, 0o755);
      const port = await freePort();
      const sup = startUp(dir, args, { DATABASE_URL: '', FIXTURE_PORT: String(port), ...env });
      current = { dir, port, sup };
      await waitFor('every unit ready', async () => {
        const long = (await status(dir)).units.filter((u) => u.kind !== 'job');
        return long.length === 3 && long.every((u) => u.replicas.desired > 0 && u.replicas.ready >= u.replicas.desired);
      }, 180_000, 300);
      return current;
    },
  };
}

/** The embedded postmaster's pid, from its pid file. */
export function postmasterPid(dir: string): number | undefined {
  const f = path.join(dir, '.archipelago/pg/postmaster.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

/** Queries the running supervisor's database. */
export async function query<R extends pg.QueryResultRow>(dir: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const url = readDatabaseFile(dir);
  if (!url) throw new Error('no database.json: the supervisor is not running');
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try { return (await c.query<R>(sql, params)).rows; } finally { await c.end().catch(() => {}); }
}

/** Starts the fixture's embedded PostgreSQL again after `up` stopped, runs `fn` against its database, stops it. */
export async function afterwards<T>(dir: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const db = await startEmbedded({ dataDir: path.join(dir, '.archipelago/pg') });
  try {
    const c = new pg.Client({ connectionString: db.urlFor('fixture_shutdown') });
    await c.connect();
    try { return await fn(c); } finally { await c.end(); }
  } finally {
    await db.stop();
  }
}

