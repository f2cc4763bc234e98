// Crons and jobs under the supervisor: `cron run` fires one run in a fresh process, `forbid` skips a
// run while one is going, and `job run` passes its arguments.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { control } from '../../src/supervisor/control.js';
import { cli, copyFixture, freePort, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';


// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
let sup: Running | undefined;
let dir: string;
let db: pg.Client;

beforeAll(async () => {
  dir = copyFixture();
  const url = await createTestDatabase('sup');
  db = new pg.Client({ connectionString: url });
  await db.connect();
  sup = startUp(dir, ['--only', 'setup,slow,echo'], { DATABASE_URL: url, FIXTURE_PORT: String(await freePort()), FIXTURE_CRON_MS: '2500' });
  // Only the control socket: the first test asks for a cron while the deploy job still runs.
  await waitFor('control socket', async () => (await status(dir)).units, 120_000);
});

afterAll(async () => {
  killGroup(sup?.pid);
  await db?.end();
  removeDir(dir);
});

describe('archipelago up: crons and jobs', () => {
  it('cron run fires one run now (even asked during start-up), and forbid skips a second while the first runs', async () => {
    const first = await cli(dir, ['cron', 'run', 'slow']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('started slow-1');
    // The first run sleeps 2.5 s after it starts; ask again while it is still going.
    await waitFor('first run going', async () => (await status(dir)).units.find((u) => u.name === 'slow')!.cron!.running === 1);
    const second = await control<{ started: boolean; reason?: string }>(dir, 'POST', '/cron/run', { name: 'slow' });
    expect(second.started).toBe(false);
    expect(second.reason).toContain('forbid');
    const slow = await waitFor('run finished', async () => {
      const u = (await status(dir)).units.find((x) => x.name === 'slow')!;
      return u.cron!.runs.some((r) => r.outcome === 'ok') ? u : undefined;
    }, 120_000);
    expect(slow.cron!.runs.map((r) => r.outcome)).toEqual(['skipped', 'ok']);
    const { rows } = await db.query('SELECT replica, started_at, finished_at FROM cron_runs ORDER BY id');
    expect(rows).toHaveLength(1);
    expect(rows[0].replica).toBe('slow-1');
    expect(rows[0].finished_at).not.toBeNull();
  });

  it('job run passes its arguments to a fresh process', async () => {
    const r = await cli(dir, ['job', 'run', 'echo', '--', 'hello', 'there']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ok (exit code 0)');
    const { lines } = await control<{ lines: { unit: string; line: string }[] }>(dir, 'GET', '/logs?limit=1000');
    expect(lines.some((l) => l.unit === 'echo' && l.line.includes('echo: hello there'))).toBe(true);
    // Every job run is recorded, whoever started it: the deploy job at start-up, this one by the CLI.
    const units = (await status(dir)).units;
    expect(units.find((u) => u.name === 'setup')!.jobRuns).toMatchObject([{ id: 'setup-1', trigger: 'deploy', outcome: 'ok', exitCode: 0 }]);
    expect(units.find((u) => u.name === 'echo')!.jobRuns).toMatchObject([{ trigger: 'manual', outcome: 'ok', exitCode: 0 }]);
    expect((await cli(dir, ['status'])).stdout).toMatch(/echo\s+job.*last echo-\d+ ok at \S+ \(manual\); 1 run/);
  });
});
