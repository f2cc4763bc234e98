// The supervisor's database: DATABASE_URL when set, else embedded PostgreSQL with its data under
// `<root>/.archipelago/pg`, reused across runs. While running, `<root>/.archipelago/database.json`
// tells other commands (run, topics, dlq) where it is.
import { mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';
import { startEmbedded } from '../database/embedded.js';
import type { ResolvedService } from '../service/types.js';
import { databaseFile, stateDir } from './paths.js';

export interface SupervisorDatabase {
  readonly url: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
  /** Stops an embedded server at once (the second Ctrl-C); nothing for DATABASE_URL. */
  kill(): void;
}

export { stateDir, databaseFile };

/** The URL a running supervisor advertises for this service, if any. */
export function readDatabaseFile(root: string): string | undefined {
  const f = databaseFile(root);
  if (!existsSync(f)) return undefined;
  try { return (JSON.parse(readFileSync(f, 'utf8')) as { url?: string }).url; } catch { return undefined; }
}

/** A PostgreSQL database name derived from the service name (DNS labels may hold '-'). */
export function databaseName(service: string): string {
  return service.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
}

export async function openDatabase(service: ResolvedService, log: (msg: string) => void): Promise<SupervisorDatabase> {
  const dir = stateDir(service.root);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let url: string;
  let stopServer: () => Promise<void> = async () => {};
  let killServer = () => {};
  const external = process.env.DATABASE_URL;
  if (external) {
    url = external;
    await ping(url);
  } else {
    const started = Date.now();
    const db = await startEmbedded({ dataDir: path.join(dir, 'pg') });
    url = await db.ensureDatabase(databaseName(service.name));
    log(`embedded PostgreSQL ready on port ${db.port} in ${Date.now() - started} ms (data in ${path.join(dir, 'pg')})`);
    stopServer = async () => {
      await db.stop();
      log('embedded PostgreSQL stopped');
    };
    killServer = () => db.kill();
  }
  writeFileSync(databaseFile(service.root), JSON.stringify({ url }, null, 2) + '\n', { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url, embedded: !external,
    stop() {
      stopped ??= (async () => {
        rmSync(databaseFile(service.root), { force: true });
        await stopServer();
      })();
      return stopped;
    },
    kill() {
      rmSync(databaseFile(service.root), { force: true });
      killServer();
    },
  };
}

async function ping(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (e) {
    throw new ArchipelagoError('ARCH_E_DATABASE', `cannot reach DATABASE_URL: ${(e as Error).message}`);
  } finally {
    await c.end().catch(() => {});
  }
}
