// A dead embedded PostgreSQL under `archipelago up`: the supervisor starts it again with back-off;
// while it is down `status` and each api's /readyz say so; afterwards the units write and handle again.
import { describe, expect, it, vi } from 'vitest';
import { cli, FAST, status, waitFor } from './helpers.js';
import { alive, embeddedUps, postmasterPid } from './embedded-up.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });
const ups = embeddedUps();

const post = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' }).then((r) => r.status, () => 0);
const readyz = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then(async (r) => ({ code: r.status, body: await r.text() }), () => ({ code: 0, body: '' }));

describe('archipelago up: the embedded database dies', () => {
  it('restarts it with back-off, reports it down meanwhile, and the units write and handle again', async () => {
    // A long first back-off, so the test sees the down state whatever the machine's load.
    const tuning = { ...FAST, databaseBackoff: { initialMs: 8000, maxMs: 8000, resetAfterMs: 60_000 } };
    const u = await ups.start([], { CHORE_MS: '100', ARCHIPELAGO_SUPERVISOR: JSON.stringify(tuning) });
    expect(await post(u.port, '/note?id=before')).toBe(200);
    const first = postmasterPid(u.dir)!;
    process.kill(first, 'SIGKILL');

    await waitFor('status: database down', async () => (await status(u.dir)).database?.health?.state === 'down', 30_000, 100);
    const down = await waitFor('the api not ready', async () => {
      const r = await readyz(u.port);
      return r.code === 503 ? r.body : undefined;
    }, 30_000, 100);
    expect(down).toContain('database unavailable');
    await waitFor('status: web not ready', async () => (await status(u.dir)).units.find((x) => x.name === 'web')!.replicas.ready === 0, 30_000, 100);
    const text = await cli(u.dir, ['status']);
    expect(text.stdout).toMatch(/database embedded \(DOWN: killed by SIGKILL/);

    await waitFor('status: database up again', async () => {
      const h = (await status(u.dir)).database?.health;
      return h?.state === 'up' && h.restarts === 1;
    }, 120_000, 200);
    expect(alive(postmasterPid(u.dir))).toBe(true);
    expect(postmasterPid(u.dir)).not.toBe(first);
    await waitFor('a write succeeds', async () => (await post(u.port, '/note?id=after')) === 200, 60_000, 300);
    await waitFor('the api ready', async () => (await readyz(u.port)).code === 200, 60_000, 200);
    expect(await post(u.port, '/publish?n=1')).toBe(200);
    await waitFor('the worker handled a chore', () => u.sup.output().includes('chore 0 done'), 60_000, 200);
    expect(u.sup.output()).toMatch(/embedded PostgreSQL killed by SIGKILL; restarting it in 8000 ms/);
  });
});
