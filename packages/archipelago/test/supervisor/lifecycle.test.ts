// The supervisor's edges: nothing survives it when it is SIGKILLed, replicas write CPU profiles on
// request, a failing deploy job stops `up` with the job's output, and commands report when no
// supervisor runs.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { cli, copyFixture, freePort, groupMembers, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';


// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
let sup: Running | undefined;
let dir: string | undefined;

afterEach(() => {
  killGroup(sup?.pid);
  sup = undefined;
  removeDir(dir);
  dir = undefined;
});

describe('archipelago up: lifecycle', () => {
  it('leaves no child alive when the supervisor itself is killed with SIGKILL', async () => {
    dir = copyFixture();
    sup = startUp(dir, ['--only', 'web'], { DATABASE_URL: await createTestDatabase('sup'), FIXTURE_PORT: String(await freePort()) });
    const d = dir;
    await waitFor('web ready', async () => (await status(d)).units.find((u) => u.name === 'web' && u.replicas.ready === 1), 120_000);
    const children = groupMembers(sup.pid).filter((p) => p.pid !== sup!.pid);
    expect(children.length).toBeGreaterThanOrEqual(1);
    process.kill(sup.pid, 'SIGKILL');
    await sup.exited;
    await waitFor('children gone', () => groupMembers(sup!.pid).length === 0, 15_000);
  });

  it('writes a CPU profile per replica when ARCHIPELAGO_CPU_PROFILE names a folder', async () => {
    dir = copyFixture();
    const profiles = path.join(dir, 'profiles');
    sup = startUp(dir, ['--only', 'web'], { DATABASE_URL: await createTestDatabase('sup'), FIXTURE_PORT: String(await freePort()), ARCHIPELAGO_CPU_PROFILE: profiles });
    const d = dir;
    await waitFor('web ready', async () => (await status(d)).units.find((u) => u.name === 'web' && u.replicas.ready === 1), 120_000);
    process.kill(sup.pid, 'SIGTERM');
    await sup.exited;
    const written = readdirSync(path.join(profiles, 'web-1')).filter((f) => f.endsWith('.cpuprofile'));
    expect(written.length).toBeGreaterThanOrEqual(1);
    const profile = JSON.parse(readFileSync(path.join(profiles, 'web-1', written[0]!), 'utf8')) as { nodes: unknown[]; samples: unknown[] };
    expect(profile.nodes.length).toBeGreaterThan(1);
  });

  it('stops with ARCH_E_DEPLOY_JOB_FAILED and the job\'s output when a deploy job fails', async () => {
    dir = copyFixture();
    sup = startUp(dir, ['--only', 'setup,web'], { DATABASE_URL: await createTestDatabase('sup'), FIXTURE_PORT: String(await freePort()), FIXTURE_FAIL_DEPLOY: '1' });
    expect(await sup.exited).toBe(1);
    expect(sup.output()).toContain('ARCH_E_DEPLOY_JOB_FAILED');
    expect(sup.output()).toContain('setup failed on purpose');
    expect(sup.output()).not.toContain('web (api) on');
  });

  it('reports ARCH_E_SUPERVISOR_UNREACHABLE when no supervisor runs', async () => {
    dir = copyFixture();
    const r = await cli(dir, ['scale', 'web', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ARCH_E_SUPERVISOR_UNREACHABLE');
  });
});
