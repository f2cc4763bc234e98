// Shared plumbing for the app-api scenarios: an embedded database in a temp dir, the seeded
// schema, a service config with free ports, the supervisor and load generators as child
// processes (each in its own process group, always ended), and bearer tokens made in SQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, migrate, startEmbedded, type EmbeddedDatabase } from '../../../packages/archipelago/src/database/index.js';
import { control } from '../../../packages/archipelago/src/supervisor/control.js';
import type { StatusSnapshot } from '../../../packages/archipelago/src/supervisor/state.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const appRoot = path.join(repoRoot, 'services/app-api');
export const BIN = path.join(repoRoot, 'packages/archipelago/bin/archipelago.js');
const AUTOCANNON = path.join(repoRoot, 'node_modules/autocannon/autocannon.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Cleanups run in reverse order, each awaited, failures ignored: teardown must always finish. */
export class Stack {
  private readonly items: (() => Promise<unknown> | unknown)[] = [];
  push(f: () => Promise<unknown> | unknown) { this.items.push(f); }
  async close() {
    for (const f of this.items.splice(0).reverse()) {
      try { await f(); } catch { /* keep tearing down */ }
    }
  }
}

export interface Workspace { dir: string; db: EmbeddedDatabase; stack: Stack }

/** A temp dir with an embedded PostgreSQL in it; `stack` ends both (and whatever is pushed later). */
export async function workspace(name: string): Promise<Workspace> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `archipelago-bench-${name}-`));
  chmodSync(dir, 0o755);
  const stack = new Stack();
  stack.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const db = await startEmbedded({ dataDir: path.join(dir, 'data') });
    stack.push(() => db.stop());
    return { dir, db, stack };
  } catch (e) {
    await stack.close();
    throw e;
  }
}

/** Applies the service's migrations and seeds `users` users with the service's own generator. */
export async function seedApp(url: string, users: number): Promise<void> {
  await migrate(url, path.join(appRoot, 'migrations'));
  const { seed } = await import('../../../services/app-api/src/domain/seed.js');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await seed(c, { users, chunk: 25_000 });
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}

/** Copies a seeded database (file-level, fast); the source must have no connections. */
export async function cloneDatabase(db: EmbeddedDatabase, from: string, to: string): Promise<string> {
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [from]);
    await c.query(`CREATE DATABASE ${pg.escapeIdentifier(to)} TEMPLATE ${pg.escapeIdentifier(from)}`);
  } finally {
    await c.end();
  }
  return db.urlFor(to);
}

/** Bearer tokens for the first `n` users by id, inserted as the service stores them (SHA-256). */
export async function tokens(url: string, n: number): Promise<{ userId: string; token: string }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ id: string }>('SELECT id::text FROM users ORDER BY id LIMIT $1', [n]);
    const out = rows.map((r) => ({ userId: r.id, token: `ak_${randomBytes(32).toString('base64url')}` }));
    for (let i = 0; i < out.length; i += 5000) {
      const part = out.slice(i, i + 5000);
      await c.query(`INSERT INTO sessions (token_hash, user_id, expires_at)
        SELECT decode(h, 'hex'), u::bigint, now() + interval '1 day' FROM unnest($1::text[], $2::text[]) AS x(h, u)`,
      [part.map((t) => createHash('sha256').update(t.token).digest('hex')), part.map((t) => t.userId)]);
    }
    return out;
  } finally {
    await c.end();
  }
}

export interface AppConfig { path: string; root: string; ports: Record<string, number> }

/**
 * Writes the app-api declaration into `dir` with absolute entry paths, free ports and per-unit
 * overrides, so the supervisor's state (control socket, outbox) lives in the temp dir and
 * nothing collides with a service running on the usual ports.
 */
export async function appConfig(dir: string, overrides: Record<string, Record<string, unknown>> = {}): Promise<AppConfig> {
  const base = (await import('../../../services/app-api/archipelago.config.js')).default as unknown as { units: Record<string, unknown>[] } & Record<string, unknown>;
  const ports: Record<string, number> = {};
  const units = [];
  for (const u of base.units) {
    const v: Record<string, unknown> = { ...u, ...(overrides[u.name as string] ?? {}) };
    if (typeof v.entry === 'string') v.entry = path.resolve(appRoot, v.entry);
    if (typeof v.port === 'number') v.port = ports[v.name as string] = await freePort();
    units.push(v);
  }
  const file = path.join(dir, 'archipelago.config.ts');
  // An ES module like the service's own config (there is no package.json above a temp dir).
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  // Replicas start with `--import tsx`, which Node resolves from their working directory.
  if (!existsSync(path.join(dir, 'node_modules'))) symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(file, `// Generated by the benchmark: app-api with absolute entries and free ports.\nexport default ${JSON.stringify({ ...base, migrations: path.join(appRoot, 'migrations'), units }, null, 2)};\n`);
  return { path: file, root: dir, ports };
}

/** A child in its own process group, ended with the whole group. */
export function spawnGroup(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess & { output: () => string } {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // BENCH_CHILD_LOG=<file>: everything the children print, kept whole (the tail is kept in memory).
  const log = process.env.BENCH_CHILD_LOG;
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
    if (log) appendFileSync(log, b);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return Object.assign(child, { output: () => out });
}

export async function endGroup(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  try { process.kill(-child.pid, 'SIGTERM'); } catch { return; }
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  await gone;
  clearTimeout(timer);
  // Replicas or crons left in the group after the supervisor exited.
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
}

/**
 * The toolkit as users deploy it: its build, when there is one (`npm run build -w packages/archipelago`),
 * unless ARCHIPELAGO_BUILT says otherwise; the sources through tsx otherwise (CI's smoke runs).
 */
export const BUILT = process.env.ARCHIPELAGO_BUILT ?? (existsSync(path.join(repoRoot, 'packages/archipelago/dist/index.js')) ? '1' : '0');

/**
 * `archipelago up` (optionally `--single-process`) for the config, on `url`; ended by `stack`. The
 * server is the workspace's embedded one, started here rather than by the supervisor, so the
 * supervisor is told to give its backends the units' priorities as it does for its own
 * (`databasePriorities`): the runs measure what `npm start` does.
 */
export function startSupervisor(cfg: AppConfig, url: string, stack: Stack, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawnGroup(process.execPath, [BIN, 'up', '--config', cfg.path, '--json', '--no-console', ...args], {
    cwd: cfg.root, env: { DATABASE_URL: url, ARCHIPELAGO_SUPERVISOR: JSON.stringify({ pollingMs: 1000, databasePriorities: true }), ARCHIPELAGO_BUILT: BUILT, ...env },
  });
  stack.push(() => endGroup(child));
  return child;
}

/** Polls until `GET url` answers with `status` (or throws after `timeoutMs`, with the child's output). */
export async function waitHttp(url: string, status: number, timeoutMs: number, child?: { output(): string; exitCode: number | null }): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === status) return;
    } catch { /* not up yet */ }
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} answered:\n${child.output().slice(-3000)}`);
    if (Date.now() > end) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms${child ? `:\n${child.output().slice(-3000)}` : ''}`);
    await sleep(250);
  }
}

export const status = (root: string) => control<StatusSnapshot>(root, 'GET', '/status');
/** Fires a cron now; retried while the supervisor is still registering its crons. */
export async function fireCron(root: string, name: string): Promise<{ started: boolean; run?: string; reason?: string }> {
  for (let i = 0; ; i++) {
    try {
      return await control<{ started: boolean; run?: string; reason?: string }>(root, 'POST', '/cron/run', { name });
    } catch (e) {
      if (i >= 300) throw e;
      await sleep(200);
    }
  }
}

export interface LoadResult { rps: number; p50: number; p99: number; requests: number; non2xx: number; errors: number; timeouts: number }

/** autocannon as its own process (its --json report), bounded by its duration plus a margin. */
export async function autocannon(url: string, opts: { seconds: number; connections: number; rate?: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-d', String(opts.seconds), '-c', String(opts.connections), '-t', '10'];
  if (opts.rate) args.push('--overallRate', String(opts.rate));
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '', err = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const killer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, (opts.seconds + 60) * 1000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err.slice(-2000)}`);
  const j = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number; duration: number };
  return { rps: j.requests.total / j.duration, p50: j.latency.p50, p99: j.latency.p99, requests: j.requests.total, non2xx: j.non2xx, errors: j.errors, timeouts: j.timeouts };
}

/** Rounds for the results file. */
export const r2 = (n: number) => Number(n.toFixed(2));

/** How many times a scenario repeats its measurement: BENCH_RUNS, else 3 at full size and 1 at small. */
export const runsFor = (size: 'small' | 'full'): number => Number(process.env.BENCH_RUNS ?? (size === 'full' ? 3 : 1));
/** How long `settle` waits at most: BENCH_SETTLE_MS, else 90 s. */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 90_000);

/**
 * Waits (up to `maxMs`) for the 1-minute load average to fall below 1, so a run does not start
 * in the tail of the previous one, and returns the load it starts at (recorded with the figures).
 */
export async function settle(maxMs = SETTLE_MS): Promise<number> {
  const end = Date.now() + maxMs;
  while (os.loadavg()[0]! >= 1 && Date.now() < end) await sleep(2000);
  return os.loadavg()[0]!;
}

/**
 * Flushes everything written so far (the seed, the clones, an earlier run's storm), so that no
 * measuring window pays for a checkpoint of setup's WAL: a clone of the 350,000-user database is
 * WAL-logged whole, and the checkpoint it later forces stalled idle windows (p99 40 ms at p50 5).
 */
export async function checkpoint(ws: Workspace): Promise<void> {
  const c = new pg.Client({ connectionString: ws.db.adminUrl });
  await c.connect();
  try { await c.query('CHECKPOINT'); } finally { await c.end(); }
}
