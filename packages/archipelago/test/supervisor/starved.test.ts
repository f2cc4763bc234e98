// A background unit runs under SCHED_IDLE (it only gets CPU time nothing else wants), and a replica
// that misses its liveness probes because the machine gives it no CPU is not restarted for it. Its
// database backends run under SCHED_IDLE too.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schedStat, schedulingPolicy, starved } from '../../src/supervisor/sched.js';
import { createTestDatabase } from '../support/db.js';
import { BIN, copyFixture, niceOf, removeDir, status, waitFor } from './helpers.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

describe('starved', () => {
  it('needs a wait of 50 ms and four times the running, or a runnable thread that ran under a fifth of the time', () => {
    const at = (ms: number, runMs: number, waitMs: number, runnable = false) => ({ at: ms, runNs: runMs * 1e6, waitNs: waitMs * 1e6, runnable });
    expect(starved(at(0, 0, 0), at(500, 10, 400))).toBe(true);
    expect(starved(at(0, 0, 0), at(500, 100, 400))).toBe(true);
    // A busy loop gets its CPU; a blocked process waits for none; a short wait is no starvation.
    expect(starved(at(0, 0, 0), at(500, 400, 100, true))).toBe(false);
    expect(starved(at(0, 0, 0), at(500, 101, 400))).toBe(false);
    expect(starved(at(0, 0, 0), at(500, 0, 0))).toBe(false);
    expect(starved(at(0, 0, 0), at(500, 1, 40))).toBe(false);
    // Waiting right now: the kernel has not added this wait to the total yet.
    expect(starved(at(0, 0, 0), at(500, 0, 0, true))).toBe(true);
    expect(starved(at(0, 0, 0), at(500, 99, 0, true))).toBe(true);
    expect(starved(at(0, 0, 0), at(500, 100, 0, true))).toBe(false);
    expect(starved(null, at(500, 0, 400))).toBe(false);
  });

  it('reads its own process', () => {
    const s = schedStat(process.pid);
    expect(s).not.toBeNull();
    expect(s!.runNs).toBeGreaterThan(0);
  });
});

describe('archipelago up: a background unit under a CPU-bound machine', () => {
  let dir = '';
  let sup: ChildProcess | undefined;
  let out = '';
  const spinners: ChildProcess[] = [];
  // Probes every 400 ms, restart after 3 misses: without the starvation rule a replica starved
  // for 3 s is restarted.
  const tuning = { backoff: { initialMs: 300, maxMs: 5000, resetAfterMs: 60_000 }, pollingMs: 500,
    probes: { readinessPeriodMs: 400, livenessPeriodMs: 400, livenessFailureThreshold: 3, timeoutMs: 150 },
    // The test's server is not the supervisor's own: its backends get the priorities when asked.
    databasePriorities: true };
  let url = '';
  beforeAll(async () => {
    dir = copyFixture('starved');
    // Not detached, unlike the other supervisor tests: Linux's autogroups share the CPU between
    // sessions first, so the busy loops below must be in the supervisor's session to compete with
    // its replica at all. Replicas exit with the supervisor (their IPC channel closes).
    url = await createTestDatabase('starved');
    sup = spawn(process.execPath, [BIN, 'up', '--no-console'], {
      cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: url, ARCHIPELAGO_SUPERVISOR: JSON.stringify(tuning) },
    });
    sup.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    sup.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  });
  afterAll(async () => {
    for (const s of spinners) s.kill('SIGKILL');
    if (sup && sup.exitCode === null) {
      const gone = new Promise((r) => sup!.once('exit', r));
      sup.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 20_000))]);
      if (sup.exitCode === null) sup.kill('SIGKILL');
    }
    removeDir(dir);
  });

  it('runs the replica under SCHED_IDLE and does not restart it while CPU-bound processes starve it', async () => {
    const idler = await waitFor('the idler ready', async () => (await status(dir)).units.find((u) => u.name === 'idler' && u.replicas.ready === 1), 90_000, 200);
    const pid = idler.replicaList[0]!.pid!;
    await waitFor('SCHED_IDLE', async () => (await schedulingPolicy(pid)) === 'SCHED_IDLE', 10_000, 100);
    // And its nice value, 10 above the supervisor's (this test's process runs it at ours).
    expect(niceOf(pid)).toBe(Math.min(19, os.getPriority() + 10));
    // Its database backend too (the replica's pool checks the database every second).
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await waitFor('the backend under SCHED_IDLE', async () => {
        const { rows } = await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'fixture-starved/idler-1'`);
        return rows.length > 0 && (await Promise.all(rows.map((r) => schedulingPolicy(r.pid)))).every((p) => p === 'SCHED_IDLE');
      }, 20_000, 200);
    } finally {
      await db.end();
    }
    // Two busy loops at our priority on the replica's one CPU for 3 s: the replica and the loops
    // are pinned to CPU 0, so it is starved whatever else the machine is doing.
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', '0', String(pid)], { stdio: 'ignore' });
    for (let i = 0; i < 2; i++) spinners.push(spawn('taskset', ['--cpu-list', '0', process.execPath, '-e', 'const end = Date.now() + 3000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
    await Promise.all(spinners.map((s) => new Promise((r) => s.once('exit', r))));
    await waitFor('the busy-machine note', () => out.includes('idler-1 missed a liveness probe while waiting for a CPU'), 10_000, 100);
    // Two more periods with a free machine: the replica answers again.
    await new Promise((r) => setTimeout(r, 1000));
    const after = (await status(dir)).units.find((u) => u.name === 'idler')!;
    expect(out).not.toContain('failed its liveness probe');
    expect(after.restarts).toBe(0);
    expect(after.replicaList[0]!.pid).toBe(pid);
  });
});
