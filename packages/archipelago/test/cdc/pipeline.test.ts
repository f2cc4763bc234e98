// End to end: row changes travel relay → postgres broker → a worker's typed subscription.
import pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { changeTopic, startRelay, type Relay } from '../../src/cdc/index.js';
import { createMessaging, createPostgresBroker, type Broker, type ConsumerHandle } from '../../src/messaging/index.js';
import { resolveService } from '../../src/service/index.js';
import type { ResolvedCdcUnit } from '../../src/service/types.js';
import { subscribe, type UnitContext } from '../../src/units/define.js';
import { createTestDatabase } from '../support/db.js';
import { dropSlots, waitFor } from './support.js';

let url: string;
let pool: pg.Pool;
let broker: Broker;
let relay: Relay | undefined;
let consumer: ConsumerHandle | undefined;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  url = await createTestDatabase('cdcpipe', { replication: true });
  pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query('CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL, votes int NOT NULL DEFAULT 0)');
  broker = createPostgresBroker({ databaseUrl: url });
  await broker.init();
});

afterAll(async () => {
  await consumer?.stop(0);
  await relay?.stop(0);
  await broker?.close();
  if (pool) await dropSlots(pool);
  await pool?.end();
});

it('delivers typed row changes from the relay to a subscription through the postgres broker', async () => {
  const Post = z.object({ id: z.number(), title: z.string(), votes: z.number() });
  const posts = changeTopic('changes', 'posts', Post);
  const seen: { id: string; op: string; votes: number | undefined; before: number | undefined }[] = [];
  const sub = subscribe(posts, 'post-changes', (d) => {
    // Typed: `after` and `before` are rows of the declared schema.
    seen.push({ id: d.id, op: d.message.op, votes: d.message.after?.votes, before: d.message.before?.votes });
  });
  const service = resolveService({ name: 'pipe', units: [{ name: 'changes', kind: 'cdc', tables: ['posts'] }] });
  const unit = service.units[0] as ResolvedCdcUnit;
  const messaging = createMessaging(broker, { unit: 'background', logger });
  const ctx = { service, unit, replica: 'background-1', db: pool, logger, metrics: new Registry(), signal: new AbortController().signal, config: {} } as unknown as UnitContext;
  // The subscription exists before the first change, so the broker keeps every change for it.
  consumer = await messaging.startSubscriptions([sub], ctx);
  relay = await startRelay({ service, unit, databaseUrl: url, broker, logger, pollMs: 200 });
  await waitFor('relay active', async () => relay!.status().state === 'active');
  await waitFor('slot streaming', async () => (await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'pipe_changes' AND active")).rowCount! > 0, 45_000);

  await pool.query("INSERT INTO posts (id, title) VALUES (1, 'hello')");
  for (let i = 0; i < 5; i++) await pool.query('UPDATE posts SET votes = votes + 1 WHERE id = 1');
  await pool.query('DELETE FROM posts WHERE id = 1');
  await waitFor('7 deliveries', async () => seen.length >= 7);
  expect(seen.map((s) => s.op)).toEqual(['insert', 'update', 'update', 'update', 'update', 'update', 'delete']);
  expect(seen.map((s) => s.votes)).toEqual([0, 1, 2, 3, 4, 5, undefined]);
  expect(seen.at(-1)!.before).toBe(5);
  for (const s of seen) expect(s.id).toMatch(/^[0-9A-F]+\/[0-9A-F]+:0$/);
  expect(new Set(seen.map((s) => s.id)).size).toBe(7);
});
