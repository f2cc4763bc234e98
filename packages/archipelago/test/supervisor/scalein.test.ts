// Scale-in drains the least busy replica first: with a busy and an idle replica, the idle one goes
// and the busy one finishes its request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { control } from '../../src/supervisor/control.js';
import { copyFixture, freePort, httpGet, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

let sup: Running | undefined;
let dir: string;
let port: number;

beforeAll(async () => {
  dir = copyFixture();
  port = await freePort();
  sup = startUp(dir, ['--only', 'web'], { DATABASE_URL: await createTestDatabase('scalein'), FIXTURE_PORT: String(port) });
});

afterAll(() => {
  killGroup(sup?.pid);
  removeDir(dir);
});

describe('archipelago up: scale-in', () => {
  it('stops the idle replica and lets the busy one finish', async () => {
    await waitFor('web ready', async () => (await status(dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 1), 45_000);
    await control(dir, 'POST', '/scale', { unit: 'web', replicas: 2 });
    await waitFor('two ready', async () => (await status(dir)).units.find((u) => u.name === 'web' && u.replicas.ready === 2), 45_000);
    const slow = httpGet(port, '/slow?ms=6000');
    const busy = await waitFor('a replica reports the request in flight', async () =>
      (await status(dir)).units.find((u) => u.name === 'web')!.replicaList.find((r) => r.inFlight > 0), 10_000, 100);
    await control(dir, 'POST', '/scale', { unit: 'web', replicas: 1 });
    const left = await waitFor('one replica left', async () => {
      const web = (await status(dir)).units.find((u) => u.name === 'web')!;
      return web.replicaList.length === 1 ? web.replicaList : undefined;
    }, 30_000);
    expect(left[0]!.id).toBe(busy.id);
    expect(left[0]!.pid).toBe(busy.pid);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).replica).toBe(busy.id);
  });
});
