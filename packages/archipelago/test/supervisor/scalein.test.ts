// Scale-in drains the least busy replica first: with a busy and an idle replica, the idle one goes
// and the busy one finishes its request.
import { describe, expect, it, vi } from 'vitest';
import { control } from '../../src/supervisor/control.js';
import { httpGet, status, supervisedFixture, waitFor } from './helpers.js';


// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
const fx = supervisedFixture('web', 'scalein');

describe('archipelago up: scale-in', () => {
  it('stops the idle replica and lets the busy one finish', async () => {
    await waitFor('web ready', async () => (await status(fx.dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 1), 120_000);
    await control(fx.dir, 'POST', '/scale', { unit: 'web', replicas: 2 });
    await waitFor('two ready', async () => (await status(fx.dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 2), 120_000);
    const slow = httpGet(fx.port, '/slow?ms=6000');
    const busy = await waitFor('a replica reports the request in flight', async () =>
      (await status(fx.dir)).units.find((u) => u.name === 'web')!.replicaList.find((r) => r.inFlight > 0), 10_000, 100);
    await control(fx.dir, 'POST', '/scale', { unit: 'web', replicas: 1 });
    const left = await waitFor('one replica left', async () => {
      const web = (await status(fx.dir)).units.find((u) => u.name === 'web')!;
      return web.replicaList.length === 1 ? web.replicaList : undefined;
    }, 30_000);
    expect(left[0]!.id).toBe(busy.id);
    expect(left[0]!.pid).toBe(busy.pid);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).replica).toBe(busy.id);
  });
});
