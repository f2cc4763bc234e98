// Provisioning from the declaration (finding 1): subscriptions exist before any worker runs, so a
// message published while its worker is at zero (or not started by `--only`) is not lost; orphans
// are shown and removed only on request; a topic with no subscription is counted and reported.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { connect } from 'nats';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryBroker, createMessaging } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, BIN } from '../support/replica-process.js';
import { freePort, killGroup, startUp, type Running } from '../supervisor/helpers.js';
import { done, DELIVERY_CONFIG, jobs, openFixture, startConsumer, until, type Fixture } from './delivery-support.js';
import { NATS_URL, natsReachable } from './nats-env.js';

const fixtures: Fixture[] = [];
const sups: Running[] = [];
afterAll(async () => {
  killAll();
  for (const s of sups) killGroup(s.pid);
  for (const f of fixtures) await f.close();
});

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--config', DELIVERY_CONFIG], { cwd: path.dirname(DELIVERY_CONFIG), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const brokers = [{ name: 'postgres', env: {} as NodeJS.ProcessEnv }];
if (await natsReachable()) brokers.push({ name: 'nats', env: { DELIVERY_BROKER: 'nats', NATS_URL, DELIVERY_STREAM: `prov_${process.pid}_${Date.now() % 1e6}` } });

describe('provisioning from the declaration', { timeout: 180_000 }, () => {
  for (const b of brokers) {
    it(`${b.name}: \`archipelago provision\` creates the subscription before any worker runs; what is published meanwhile is handled when one starts`, async () => {
      const f = openFixture(await createTestDatabase(`prov_${b.name}`), b.env);
      fixtures.push(f);
      const r = await cli(['provision'], { DATABASE_URL: f.databaseUrl, ...b.env });
      expect(r.out).toContain('provisioned 1 subscription on the');
      expect(r.code).toBe(0);
      await f.messaging.publishMany(jobs, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      await f.messaging.publish(jobs, { n: 4 }, { tx: undefined });
      const c = await startConsumer(f);
      await until('all four handled', async () => (await done(f)).size === 4);
      expect([...(await done(f)).values()]).toEqual([1, 1, 1, 1]);
      c.child.kill('SIGTERM');
      await c.exited;
      if (b.env.DELIVERY_STREAM) {
        const nc = await connect({ servers: NATS_URL });
        await (await nc.jetstreamManager()).streams.delete(b.env.DELIVERY_STREAM).catch(() => {});
        await nc.close();
      }
    });
  }

  it('`archipelago up --only api` provisions the worker it does not start: a row written through the api is handled by a worker started later', async () => {
    const f = openFixture(await createTestDatabase('prov_up'));
    fixtures.push(f);
    const port = await freePort();
    const sup = startUp(path.dirname(DELIVERY_CONFIG), ['--only', 'api', '--config', DELIVERY_CONFIG], { DATABASE_URL: f.databaseUrl, DELIVERY_API_PORT: String(port) });
    sups.push(sup);
    await until('the api', async () => (await fetch(`http://127.0.0.1:${port}/rows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 7 }) }).catch(() => undefined))?.status === 200, 90_000);
    expect(sup.output()).toContain('provisioned 1 subscription on the postgres broker: delivery-jobs');
    const c = await startConsumer(f);
    await until('the row handled', async () => (await done(f)).get(7) === 1);
    c.child.kill('SIGTERM');
    await c.exited;
  });

  it('a subscription no longer declared is shown as orphaned and removed only by `provision --prune`', async () => {
    const f = openFixture(await createTestDatabase('prov_orphan'));
    fixtures.push(f);
    const env = { DATABASE_URL: f.databaseUrl };
    expect((await cli(['provision'], env)).code).toBe(0);
    await f.broker.ensureSubscription({ name: 'old-jobs', topic: 'delivery.jobs', unit: 'consumer', concurrency: 1, maxAttempts: 1, backoff: { initialMs: 1, maxMs: 1, factor: 1 }, deadlineMs: 1000 });
    const topics = JSON.parse((await cli(['topics', '--json'], env)).out) as { topics: { topic: string; subscriptions: { name: string; orphaned: boolean }[] }[] };
    const subs = topics.topics.find((t) => t.topic === 'delivery.jobs')!.subscriptions;
    expect(subs.map((s) => [s.name, s.orphaned])).toEqual([['delivery-jobs', false], ['old-jobs', true]]);
    const again = await cli(['provision'], env);
    expect(again.out).toContain('orphaned: subscription "old-jobs"');
    expect((await f.broker.listSubscriptions()).map((s) => s.name)).toEqual(['delivery-jobs', 'old-jobs']);
    const pruned = await cli(['provision', '--prune'], env);
    expect(pruned.out).toContain('removed orphaned subscription "old-jobs"');
    expect((await f.broker.listSubscriptions()).map((s) => s.name)).toEqual(['delivery-jobs']);
  });

  it('a message published to a topic with no subscription is counted per topic and reported once', async () => {
    const warnings: string[] = [];
    const broker = createMemoryBroker({ warn: (m) => warnings.push(m) });
    const m = createMessaging(broker, { unit: 't', logger: pino({ level: 'silent' }) });
    await m.publish(jobs, { n: 1 });
    await m.publishMany(jobs, [{ n: 2 }, { n: 3 }]);
    expect(broker.unrouted().get('delivery.jobs')).toBe(3);
    expect(warnings.filter((w) => w.includes('topic "delivery.jobs" has no subscription'))).toHaveLength(1);
    const f = openFixture(await createTestDatabase('prov_unrouted'));
    fixtures.push(f);
    await f.messaging.publish(jobs, { n: 1 });
    await f.messaging.publish(jobs, { n: 2 });
    expect(f.broker.unrouted().get('delivery.jobs')).toBe(2);
  });
});
