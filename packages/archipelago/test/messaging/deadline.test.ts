// Deadlines stop work: a delivery's signal aborts at its deadline, its slot stays taken until the
// handler settles (so `concurrency` holds), and a handler that ignores the signal ends its replica.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { killAll } from '../support/replica-process.js';
import { jobs, openFixture, runs, startConsumer, until, type Fixture } from './delivery-support.js';

let f: Fixture;
beforeAll(async () => { f = openFixture(await createTestDatabase('deadline')); });
afterAll(async () => { killAll(); await f?.close(); });

describe('deadlines (postgres broker, real worker processes)', { timeout: 120_000 }, () => {
  it('a handler ignoring its 500 ms deadline runs once, never twice at once, and its replica exits 1 with ARCH_E_HANDLER_OVERRUN', async () => {
    const r = await startConsumer(f, { DELIVERY_CONCURRENCY: '1', DELIVERY_DEADLINE: '500ms' });
    await f.messaging.publish(jobs, { n: 1, sleepMs: 3000 });
    // Before the fix the slot was freed at the deadline: 7 runs in 4 s, 5 at once, and no exit.
    const exit = await Promise.race([r.exited, new Promise<undefined>((res) => setTimeout(res, 4000))]);
    const mine = (await runs(f, 1)).filter((x) => x.pid === r.child.pid);
    expect(mine).toHaveLength(1);
    expect(Math.max(...mine.map((x) => x.running))).toBe(1);
    expect(exit?.code ?? (await r.exited).code).toBe(1);
    const fatal = r.logs.filter((l) => l.code === 'ARCH_E_HANDLER_OVERRUN');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ subscription: 'delivery-jobs', attempt: 1, deadlineMs: 500 });
    await f.pool.query('DELETE FROM archipelago.queue');
  });

  it('a handler that honours its signal is stopped at the deadline, fails with ARCH_E_DEADLINE, and the replica keeps running', async () => {
    const r = await startConsumer(f, { DELIVERY_CONCURRENCY: '2', DELIVERY_DEADLINE: '300ms', DELIVERY_MAX_ATTEMPTS: '2' });
    await f.messaging.publish(jobs, { n: 2, sleepMs: 10_000, honour: true });
    const dead = await until('the dead letter', async () => (await f.broker.deadLetters.list('delivery-jobs')).find((d) => (d.payload as { n: number }).n === 2));
    expect(dead.attempts).toBe(2);
    expect(dead.error).toContain('ARCH_E_DEADLINE');
    expect((await runs(f, 2)).map((x) => x.attempt)).toEqual([1, 2]);
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
  });
});
