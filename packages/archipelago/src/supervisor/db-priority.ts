// Priority reaches the database too. `priority: background` lowers a unit's processes (spawn.ts),
// but its queries run in PostgreSQL backends at the server's own priority, where a digest storm
// competes with the API's queries on equal terms. For an embedded PostgreSQL (started by this
// supervisor, on this machine) each unit's backends get the unit's nice value (and a background
// unit's, SCHED_IDLE) as well: the backends are found by the application name every replica's
// pool sets (`<service>/<replica>`).
// A server we did not start (DATABASE_URL) is left alone unless `databasePriorities` is set.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { applyPriority, NICE } from './sched.js';

/** The unit a replica id (`<unit>-<n>`, or `<unit>-<n>-<run>` for tasks) belongs to. */
function unitOfReplica(service: ResolvedService, replica: string): ResolvedUnit | undefined {
  let best: ResolvedUnit | undefined;
  for (const u of service.units) if (replica.startsWith(`${u.name}-`) && (!best || u.name.length > best.name.length)) best = u;
  return best;
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    // No /proc (not Linux): the embedded server is the only caller there.
    return process.platform !== 'linux';
  }
}

/**
 * Renices the backends of the service's lower-priority units, once each (a pid seen before is
 * skipped, so a backend an administrator reniced is not fought over). Returns how many changed.
 */
export async function applyBackendPriorities(db: pg.ClientBase | pg.Pool, service: ResolvedService, done: Map<number, number>): Promise<number> {
  const { rows } = await db.query<{ pid: number; app: string }>(
    `SELECT pid, application_name AS app FROM pg_stat_activity WHERE starts_with(application_name, $1)`, [`${service.name}/`]);
  let changed = 0;
  const seen = new Set<number>();
  for (const { pid, app } of rows) {
    seen.add(pid);
    if (done.has(pid)) continue;
    const unit = unitOfReplica(service, app.slice(service.name.length + 1));
    const nice = unit ? NICE[unit.priority] : 0;
    done.set(pid, nice);
    // Only a PostgreSQL process of this machine: the pid of a server elsewhere is not ours.
    if (!unit || nice <= 0 || !isPostgres(pid)) continue;
    // As for the unit's own processes (sched.ts). A backend is one thread. A SCHED_IDLE backend
    // holding a lock another backend waits for still runs: the waiter sleeps, so the CPU is free.
    if (await applyPriority(pid, unit.priority, { threads: false })) changed++;
  }
  for (const pid of done.keys()) if (!seen.has(pid)) done.delete(pid);
  return changed;
}

/** Applies the priorities every `everyMs` until stopped. */
export function startBackendPriorities(service: ResolvedService, databaseUrl: string, everyMs: number, warn: (m: string) => void): { stop(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'archipelago-supervisor' });
  pool.on('error', () => {});
  const done = new Map<number, number>();
  let warned = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await applyBackendPriorities(pool, service, done);
    } catch (e) {
      if (!warned) warn(`database priorities: could not read the backends (${(e as Error).message}); queries of background units run at normal priority`);
      warned = true;
    }
    if (!stopped) timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pool.end().catch(() => {});
    },
  };
}
