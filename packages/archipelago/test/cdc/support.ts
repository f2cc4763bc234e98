// Test helpers for CDC: a broker that records what it accepts in a table of the test database (so
// child processes and the test see the same record) and can be told to refuse, and a relay child.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Broker, OutgoingMessage } from '../../src/messaging/broker.js';

export class SinkBroker implements Broker {
  readonly kind = 'memory' as const;
  readonly pool: pg.Pool;
  /** While true every publish fails, as when the broker is unreachable. */
  failing = false;
  publishCalls = 0;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    await this.pool.query(`CREATE TABLE IF NOT EXISTS cdc_sink (
      seq bigserial PRIMARY KEY, id text NOT NULL, topic text NOT NULL, payload jsonb NOT NULL, published_at timestamptz NOT NULL)`);
    // Which relay process published each row (a test may have made the table without it).
    await this.pool.query('ALTER TABLE cdc_sink ADD COLUMN IF NOT EXISTS by int NOT NULL DEFAULT 0');
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.publishCalls++;
    if (this.failing) throw new Error('broker unavailable');
    await this.pool.query(
      `INSERT INTO cdc_sink (id, topic, payload, published_at, by)
       SELECT i, $1, p, t, $5 FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[]) AS u(i, p, t)`,
      [topic, messages.map((m) => m.id), messages.map((m) => JSON.stringify(m.payload)), messages.map((m) => m.publishedAt), process.pid]);
  }

  readonly holder = 'sink';
  releaseHolder(): Promise<number> { return Promise.reject(new Error('not used by the relay')); }
  listSubscriptions(): never { throw new Error('not used by the relay'); }
  removeSubscription(): never { throw new Error('not used by the relay'); }
  unrouted(): ReadonlyMap<string, number> { return new Map(); }
  ensureSubscription(): Promise<void> { return Promise.reject(new Error('not used by the relay')); }
  consume(): never { throw new Error('not used by the relay'); }
  broadcast(): Promise<void> { return Promise.reject(new Error('not used by the relay')); }
  onBroadcast(): never { throw new Error('not used by the relay'); }
  stats(): never { throw new Error('not used by the relay'); }
  deadLetters = {
    list: () => Promise.resolve([]), get: () => Promise.resolve(undefined),
    replay: () => Promise.resolve(0), purge: () => Promise.resolve(0),
  };

  async close(): Promise<void> { await this.pool.end(); }
}

export interface SinkRow { seq: string; id: string; topic: string; payload: { table: string; op: string; before?: Record<string, unknown>; after?: Record<string, unknown>; lsn: string; committedAt: string; xid: number } }

export async function sinkRows(pool: pg.Pool): Promise<SinkRow[]> {
  return (await pool.query<SinkRow>('SELECT seq, id, topic, payload FROM cdc_sink ORDER BY seq')).rows;
}

// Generous by default: creating a logical slot waits for every transaction open anywhere in the
// cluster, and the test files running in parallel share one cluster. The wait bounds failures only.
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'relay.ts');

export interface RelayChild {
  readonly proc: ChildProcess;
  readonly output: string[];
  /** Resolves once the child logged a line containing `text`. */
  waitForLine(text: string, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs a relay in its own process, as the cdc unit's replica would run. */
export function startRelayChild(env: { DATABASE_URL: string; SERVICE: string; TABLES: string; BATCH?: string; LOG_LEVEL?: string }): RelayChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      for (const w of [...waiters]) if (line.includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  return {
    proc, output,
    waitForLine(text, timeoutMs = 45_000) {
      if (output.some((l) => l.includes(text))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`relay child did not log "${text}" in time; output:\n${output.slice(-20).join('\n')}`)), timeoutMs);
        waiters.push({ text, resolve: () => { clearTimeout(t); resolve(); } });
        proc.once('exit', (code, sig) => { clearTimeout(t); reject(new Error(`relay child exited (${code ?? sig}) before logging "${text}":\n${output.slice(-20).join('\n')}`)); });
      });
    },
    kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => { proc.once('exit', () => resolve()); proc.kill(signal); });
    },
  };
}

/** Drops this database's replication slots once their relays have let go, so they keep no WAL. */
export async function dropSlots(pool: pg.Pool, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    await pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active').catch(() => {});
    const left = await pool.query('SELECT 1 FROM pg_replication_slots WHERE database = current_database()');
    if (left.rowCount === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
