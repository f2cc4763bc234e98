// The supervisor's database: DATABASE_URL when set, else embedded PostgreSQL with its data under
// `<root>/.archipelago/pg`, reused across runs. While running, `<root>/.archipelago/database.json`
// tells other commands (run, topics, dlq) where it is. An embedded server that dies is restarted.
import { mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';
import { startEmbedded, type EmbeddedDatabase } from '../database/embedded.js';
import type { ResolvedService } from '../service/types.js';
import { databaseFile, stateDir } from './paths.js';
import { backoffDelay, type BackoffSettings } from './probes.js';

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

export interface DatabaseHealth {
  state: 'up' | 'down';
  /** Restarts of the embedded server since the supervisor started. */
  restarts: number;
  /** How the server last ended, when it died. */
  lastExit: string | null;
  /** When the next start is due while it is down. */
  nextStartAt: string | null;
}

export interface DatabaseSupervision {
  backoff: BackoffSettings;
  warn(msg: string): void;
  /** The embedded server went down or came back. */
  changed(health: DatabaseHealth): void;
}

export async function openDatabase(service: ResolvedService, log: (msg: string) => void, supervise?: DatabaseSupervision): Promise<SupervisorDatabase> {
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
    const dataDir = path.join(dir, 'pg');
    const db = await startEmbedded({ dataDir });
    url = await db.ensureDatabase(databaseName(service.name));
    log(`embedded PostgreSQL ready on port ${db.port} in ${Date.now() - started} ms (data in ${dataDir})`);
    const server = new EmbeddedServer(db, dataDir, log, supervise);
    stopServer = async () => {
      await server.stop();
      log('embedded PostgreSQL stopped');
    };
    killServer = () => server.kill();
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

/**
 * The embedded server under supervision: when it dies it is started again on the same port and
 * data, with the replicas' back-off (a server that cannot start yet, e.g. while the old one's
 * backends still hold its shared memory, waits longer each time). Units keep their URL and reconnect.
 */
class EmbeddedServer {
  private stopping = false;
  private crashes = 0;
  private startedMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private readonly health: DatabaseHealth = { state: 'up', restarts: 0, lastExit: null, nextStartAt: null };

  constructor(private db: EmbeddedDatabase, private readonly dataDir: string, private readonly log: (msg: string) => void, private readonly supervise?: DatabaseSupervision) {
    this.watch(db);
  }

  private watch(db: EmbeddedDatabase): void {
    if (!this.supervise) return;
    void db.exited.then((r) => {
      if (this.stopping || db !== this.db) return;
      this.health.lastExit = r.signal ? `killed by ${r.signal}` : `exited with code ${r.code}`;
      this.retry(`embedded PostgreSQL ${this.health.lastExit}`);
    });
  }

  private retry(why: string): void {
    const sup = this.supervise!;
    if (Date.now() - this.startedMs >= sup.backoff.resetAfterMs) this.crashes = 0;
    const delay = backoffDelay(++this.crashes, sup.backoff);
    Object.assign(this.health, { state: 'down', nextStartAt: new Date(Date.now() + delay).toISOString() });
    sup.warn(`${why}; restarting it in ${delay} ms (back-off)`);
    sup.changed({ ...this.health });
    this.timer = setTimeout(() => { this.starting = this.restart(); }, delay);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    this.startedMs = Date.now();
    let db: EmbeddedDatabase;
    try {
      db = await startEmbedded({ dataDir: this.dataDir, port: this.db.port });
    } catch (e) {
      if (!this.stopping) this.retry(`embedded PostgreSQL did not start again: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    this.db = db;
    this.watch(db);
    if (this.stopping) return;
    this.health.restarts++;
    Object.assign(this.health, { state: 'up', nextStartAt: null });
    this.log(`embedded PostgreSQL restarted on port ${db.port} (restart ${this.health.restarts})`);
    this.supervise!.changed({ ...this.health });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.starting;
    await this.db.stop();
  }

  kill(): void {
    this.stopping = true;
    clearTimeout(this.timer);
    this.db.kill();
    void this.starting?.then(() => this.db.kill());
  }
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
