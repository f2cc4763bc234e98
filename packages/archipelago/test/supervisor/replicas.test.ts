// Replicas under the supervisor: probes make them ready, a killed one comes back, a crashing one
// backs off longer each time, manual scaling stays within min..max, and SIGINT leaves nothing behind.
import { describe, expect, it, vi } from 'vitest';
import { control } from '../../src/supervisor/control.js';
import { cli, groupMembers, httpGet, status, supervisedFixture, waitFor } from './helpers.js';


// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
const fx = supervisedFixture('setup,web,crasher', 'sup');

describe('archipelago up: replicas', () => {
  it('probes make a replica ready and its unit answers on the shared port', async () => {
    const web = await waitFor('web ready', async () => (await status(fx.dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 1), 120_000);
    expect(web.health).toBe('healthy');
    const replica = web.replicaList[0]!;
    expect(replica.state).toBe('ready');
    expect(replica.adminPort).toBeGreaterThan(0);
    const res = await httpGet(fx.port);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).replica).toBe('web-1');
    expect(fx.sup.output()).toContain(`http://localhost:${fx.port}`);
  });

  it('brings back a replica killed with SIGKILL', async () => {
    const before = (await status(fx.dir)).units.find((u) => u.name === 'web')!.replicaList[0]!;
    process.kill(before.pid!, 'SIGKILL');
    const after = await waitFor('web back', async () => {
      const r = (await status(fx.dir)).units.find((u) => u.name === 'web')!.replicaList[0]!;
      return r.pid !== before.pid && r.state === 'ready' ? r : undefined;
    }, 120_000);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(after.lastExit?.signal).toBe('SIGKILL');
    expect((await httpGet(fx.port)).status).toBe(200);
  });

  it('restarts a unit that crashes at start with growing back-off', async () => {
    const crasher = await waitFor('three crashes', async () => (await status(fx.dir)).units.find((u) => u.name === 'crasher' && u.restarts >= 3), 120_000);
    expect(crasher.health).not.toBe('healthy');
    const { lines } = await control<{ lines: { unit: string; line: string }[] }>(fx.dir, 'GET', '/logs?limit=1000');
    const delays = lines.map((l) => /crasher-1 exited with code 3; restarting in (\d+) ms/.exec(l.line)?.[1]).filter(Boolean).map(Number);
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays.slice(0, 3)).toEqual([300, 600, 1200]);
  });

  it('scales by hand within replicas.min..max and refuses outside', async () => {
    const ok = await cli(fx.dir, ['scale', 'web', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    await waitFor('two web replicas ready', async () => (await status(fx.dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 2), 120_000);
    const bad = await cli(fx.dir, ['scale', 'web', '7']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ARCH_E_SCALE_RANGE');
    const s = await status(fx.dir);
    expect(s.units.find((u) => u.name === 'web')!.replicas.desired).toBe(2);
    expect(s.history.some((h) => h.unit === 'web' && h.from === 1 && h.to === 2 && h.source === 'manual')).toBe(true);
  });

  it('status --json prints units with replicas and restarts, and the scale history', async () => {
    const r = await cli(fx.dir, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { units: { name: string; kind: string; replicas: Record<string, number>; restarts: number }[]; history: unknown[] };
    const web = s.units.find((u) => u.name === 'web')!;
    expect(web).toMatchObject({ kind: 'api', replicas: { min: 1, max: 3, desired: 2 } });
    expect(web.replicas.ready).toBeTypeOf('number');
    expect(web.restarts).toBeGreaterThanOrEqual(1);
    expect(s.units.map((u) => u.name)).toEqual(['setup', 'web', 'crasher']);
    expect(Array.isArray(s.history)).toBe(true);
  });

  it('leaves no process behind after SIGINT', async () => {
    expect(groupMembers(fx.sup.pid).length).toBeGreaterThan(1);
    process.kill(fx.sup.pid, 'SIGINT');
    expect(await fx.sup.exited).toBe(0);
    await waitFor('group empty', () => groupMembers(fx.sup.pid).length === 0, 15_000);
    const r = await cli(fx.dir, ['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ARCH_E_SUPERVISOR_UNREACHABLE');
  });
});
