// Shared by the delivery-guarantee tests: the delivery fixture service run as real
// `archipelago run` children, a publisher on the same broker, and reads of what the handlers did.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { createBroker, createMessaging, type Messaging } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { jobs } from '../fixtures/delivery/src/topics.js';

export const DELIVERY_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/delivery/archipelago.config.ts');
export { jobs };

export interface Fixture { databaseUrl: string; pool: pg.Pool; broker: Broker; messaging: Messaging; env: NodeJS.ProcessEnv; close(): Promise<void> }

export function openFixture(databaseUrl: string, env: NodeJS.ProcessEnv = {}): Fixture {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', () => {});
  const nats = env.DELIVERY_BROKER === 'nats';
  const broker = createBroker(
    { broker: nats ? { kind: 'nats', url: env.NATS_URL ?? 'nats://127.0.0.1:4222', stream: env.DELIVERY_STREAM ?? 'delivery_fixture' } : { kind: 'postgres' } },
    { databaseUrl, pool });
  const messaging = createMessaging(broker, { unit: 'test', logger: pino({ level: 'silent' }) });
  return {
    databaseUrl, pool, broker, messaging, env,
    async close() { await messaging.close(); await broker.close(); await pool.end(); },
  };
}

let replicas = 0;
export async function startConsumer(f: Fixture, env: NodeJS.ProcessEnv = {}): Promise<ReplicaProcess> {
  const r = startReplica(['run', 'consumer', '--config', DELIVERY_CONFIG], {
    env: { DATABASE_URL: f.databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_REPLICA: `consumer-${++replicas}`, ...f.env, ...env },
  });
  await r.message('arch:ready');
  return r;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Run { n: number; id: string; attempt: number; pid: number; running: number }
export async function runs(f: Fixture, n?: number): Promise<Run[]> {
  const r = await f.pool.query<Run>('SELECT n, id, attempt, pid, running FROM delivery_runs WHERE $1::int IS NULL OR n = $1 ORDER BY at', [n ?? null])
    .catch(() => ({ rows: [] as Run[] }));
  return r.rows;
}
export async function done(f: Fixture): Promise<Map<number, number>> {
  const r = await f.pool.query<{ n: number; times: number }>('SELECT n, times FROM delivery_done').catch(() => ({ rows: [] as { n: number; times: number }[] }));
  return new Map(r.rows.map((x) => [x.n, x.times]));
}
