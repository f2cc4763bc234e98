// End to end: an api unit with `scale: { cpu: 50 }` under real HTTP load scales out on the CPU its
// replicas really use, and back to its minimum once the load stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { copyFixture, freePort, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

let sup: Running | undefined;
let dir = '';
let port = 0;

beforeAll(async () => {
  dir = copyFixture('cpu-scaling');
  port = await freePort();
  sup = startUp(dir, [], { DATABASE_URL: await createTestDatabase('cpuscale'), FIXTURE_PORT: String(port) });
  await waitFor('spin ready', async () => (await status(dir)).units.find((u) => u.name === 'spin' && u.replicas.ready === 1), 180_000, 500);
}, 200_000);

afterAll(() => {
  killGroup(sup?.pid);
  removeDir(dir);
});

const spin = () => status(dir).then((s) => ({ unit: s.units.find((u) => u.name === 'spin')!, history: s.history.filter((h) => h.unit === 'spin' && h.source === 'autoscaler') }));

describe('archipelago up: CPU autoscaling', () => {
  it('scales an api out under HTTP load and back to its minimum when the load stops', async () => {
    // Idle first: a reading under target proves the scale-out below comes from the load, not the start.
    await waitFor('an idle cpu reading', async () => { const c = (await spin()).unit.metrics.cpuPercent; return typeof c === 'number' && c < 50; }, 120_000, 500);
    expect((await spin()).history).toEqual([]);
    // Four clients, each request 20 ms of CPU; bounded by count and by the first scale-out.
    let stop = false, sent = 0;
    const client = async () => {
      for (let i = 0; i < 20_000 && !stop; i++) {
        await fetch(`http://127.0.0.1:${port}/spin?ms=20`).then((r) => r.text()).catch(() => {});
        sent++;
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    try {
      await waitFor('a scale-out on cpu', async () => (await spin()).history.some((d) => d.to > d.from), 180_000, 500);
    } finally {
      stop = true;
      await load;
    }
    const up = (await spin()).history.find((d) => d.to > d.from)!;
    expect(up.from).toBe(1);
    expect(up.reason).toContain('cpu');
    expect(up.metrics.cpuPercent).toBeGreaterThan(55);

    await waitFor('back at one replica', async () => {
      const { unit, history } = await spin();
      return unit.replicas.desired === 1 && history.at(-1)!.to === 1 && unit.replicaList.length === 1;
    }, 180_000, 500);
    const { history } = await spin();
    const down = history.at(-1)!;
    expect(down.to).toBeLessThan(down.from);
    expect(down.metrics.cpuPercent).toBeLessThan(50);
    console.log(`cpu scaling: ${sent} requests; decisions ${history.map((d) => `${d.from}→${d.to} @${d.metrics.cpuPercent}%`).join(', ')}`);
  }, 400_000);
});
