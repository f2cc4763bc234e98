// `archipelago up --single-process` runs every long-running unit in the supervisor's own process
// and serves the same routes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { copyFixture, freePort, groupMembers, httpGet, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';


// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
let sup: Running | undefined;
let dir: string | undefined;

afterEach(() => {
  killGroup(sup?.pid);
  removeDir(dir);
});

describe('archipelago up --single-process', () => {
  it('serves the same routes from one process and stops cleanly on SIGINT', async () => {
    dir = copyFixture();
    const port = await freePort();
    sup = startUp(dir, ['--single-process', '--only', 'setup,web'], { DATABASE_URL: await createTestDatabase('single'), FIXTURE_PORT: String(port) });
    const res = await waitFor('web answers', async () => {
      const r = await httpGet(port).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 120_000);
    const body = JSON.parse(res.body) as { replica: string; pid: number };
    expect(body.pid).toBe(sup.pid);
    expect(body.replica).toBe('fixture-sup-0');
    const s = await status(dir);
    expect(s.mode).toBe('single-process');
    // One supervisor whatever the strategy: the deploy job is listed as it is with a process per replica.
    expect(s.units.map((u) => u.name)).toEqual(['setup', 'web']);
    expect(s.units.find((u) => u.name === 'setup')?.jobRuns?.map((r) => r.outcome)).toEqual(['ok']);
    process.kill(sup.pid, 'SIGINT');
    expect(await sup.exited).toBe(0);
    await waitFor('group empty', () => groupMembers(sup!.pid).length === 0, 15_000);
  });
});
