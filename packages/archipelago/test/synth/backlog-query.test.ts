// The query KEDA runs for a postgres-broker worker counts what the broker itself reports as backlog.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/brokers/postgres.js';
import type { Broker } from '../../src/messaging/broker.js';
import { backlogQuery } from '../../src/synth/index.js';
import { createTestDatabase } from '../support/db.js';
import { referenceSubscriptions } from './fixture.js';

let broker: Broker;
let client: pg.Client;

beforeAll(async () => {
  const url = await createTestDatabase('synth');
  broker = createPostgresBroker({ databaseUrl: url });
  await broker.init();
  client = new pg.Client({ connectionString: url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await broker?.close();
});

test('backlogQuery(spec) returns the broker\'s backlog for that subscription and no other', async () => {
  const [counters, notify] = referenceSubscriptions.get('background')!;
  // A name with a quote must not break (or escape) the query.
  const odd = { ...counters!, name: "o'brien-counters" };
  for (const s of [counters!, notify!, odd]) await broker.ensureSubscription(s);
  const msg = (i: number) => ({ id: `m${i}`, payload: { table: 'upvotes', op: 'insert' }, publishedAt: new Date() });
  await broker.publish(counters!.topic, Array.from({ length: 7 }, (_, i) => msg(i)));
  await broker.publish(notify!.topic, Array.from({ length: 3 }, (_, i) => msg(100 + i)));

  for (const s of [counters!, notify!, odd]) {
    const { rows } = await client.query<{ count: string }>(backlogQuery(s));
    const stats = await broker.stats(s.name);
    expect(Number(rows[0]!.count), s.name).toBe(stats.backlog);
  }
  expect((await broker.stats(notify!.name)).backlog).toBe(3);
  expect((await broker.stats(counters!.name)).backlog).toBe(7);
});
