// The worker host run as a real `archipelago run worker` child on the postgres broker.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, createMessaging, type Messaging } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { pings, work } from '../fixtures/hosts/src/topics.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;
let pool: pg.Pool;
let broker: Broker;
let messaging: Messaging;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_worker');
  pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  broker = createBroker({ broker: { kind: 'postgres' } }, { databaseUrl, pool });
  messaging = createMessaging(broker, { unit: 'test', logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  killAll();
  await messaging?.close();
  await broker?.close();
  await pool?.end();
});

async function startWorker(env: NodeJS.ProcessEnv = {}): Promise<{ r: ReplicaProcess; admin: string }> {
  const r = startReplica(['run', 'worker', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_REPLICA: 'worker-1', ...env } });
  const { adminPort, port } = await r.message('arch:listening');
  expect(port).toBeUndefined();
  await r.message('arch:ready');
  return { r, admin: `http://127.0.0.1:${adminPort}` };
}

async function handled(ns: number[]): Promise<number[]> {
  for (let i = 0; i < 400; i++) {
    const { rows } = await pool.query<{ n: number }>('SELECT n FROM fixture_handled WHERE n = ANY($1) ORDER BY n', [ns]).catch(() => ({ rows: [] as { n: number }[] }));
    if (rows.length === ns.length) return rows.map((r) => r.n);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`messages ${ns.join(', ')} were not all handled`);
}

async function inFlight(r: ReplicaProcess, n: number): Promise<void> {
  await r.log((l) => l.msg === 'handling' && l.n === n);
}

describe('worker host', () => {
  it('consumes its subscriptions, hears broadcasts, and serves probes and metrics on the admin port', async () => {
    const { r, admin } = await startWorker();
    await messaging.publishMany(work, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await handled([1, 2, 3])).toEqual([1, 2, 3]);
    await messaging.broadcast(pings, { text: 'hi workers' });
    await r.log((l) => l.msg === 'heard broadcast' && l.text === 'hi workers');
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${admin}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/^archipelago_messages_total\{status="ok"[^}]*unit="worker"[^}]*\} 3$/m);
    await new Promise((res) => setTimeout(res, 1100));
    expect(r.messages.filter((m) => m.type === 'arch:load').at(-1)).toMatchObject({ handled: 3, inFlight: 0 });
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
  });

  it('finishes an in-flight message during a SIGTERM drain, then exits 0', async () => {
    const { r } = await startWorker();
    await messaging.publish(work, { n: 10, sleepMs: 1500 });
    await inFlight(r, 10);
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
    expect(await handled([10])).toEqual([10]);
  });

  it('exits 1 past its grace, saying the cut message will be redelivered', async () => {
    const { r } = await startWorker({ FIXTURE_GRACE: '300ms' });
    await messaging.publish(work, { n: 20, sleepMs: 30_000 });
    await inFlight(r, 20);
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(1);
    const cut = r.logs.filter((l) => l.code === 'ARCH_E_DRAIN_TIMEOUT');
    expect(cut).toHaveLength(1);
    expect(cut[0]!.msg).toContain('cut 1 in-flight message (they will be redelivered)');
  });
});
