// Leases of dead replicas (findings 7 and 10): when a worker replica dies (SIGKILL here), the
// supervisor releases the message leases its process held at once, so another replica takes the
// message long before the lease (deadline plus margin) would have run out.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leaseMs } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { DELIVERY_CONFIG, jobs, openFixture, runs, until, type Fixture } from '../messaging/delivery-support.js';
import { killGroup, startUp, type Running } from './helpers.js';

let f: Fixture | undefined;
let sup: Running | undefined;
afterAll(async () => { killGroup(sup?.pid); await f?.close(); });

describe('leases of dead replicas', { timeout: 180_000 }, () => {
  it('a SIGKILLed worker replica\'s message is redelivered as soon as the supervisor sees the exit, not after its 66 s lease', async () => {
    f = openFixture(await createTestDatabase('leases'));
    sup = startUp(path.dirname(DELIVERY_CONFIG), ['--only', 'consumer', '--config', DELIVERY_CONFIG], { DATABASE_URL: f.databaseUrl, DELIVERY_MIN: '1', DELIVERY_DEADLINE: '60s' });
    await until('the subscription', async () => (await f!.broker.listSubscriptions()).length === 1, 90_000);
    await f.messaging.publish(jobs, { n: 1, sleepMs: 120_000 });
    const first = await until('the first run', async () => (await runs(f!, 1))[0], 90_000);
    const killedAt = Date.now();
    process.kill(first.pid, 'SIGKILL');
    const second = await until('the redelivery', async () => (await runs(f!, 1))[1], 60_000);
    const waited = Date.now() - killedAt;
    expect(second.attempt).toBe(2);
    expect(second.pid).not.toBe(first.pid);
    // The lease alone would have held it this long; the release made it far shorter.
    expect(waited).toBeLessThan(leaseMs({ deadlineMs: 60_000 }));
    expect(sup.output()).toMatch(/consumer-1: released 1 message lease it held/);
  });
});
