// The queries KEDA runs for a postgres-broker worker return what the broker itself reports: the
// backlog summed over the unit's subscriptions, and the oldest message's age (the highest of them).
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/brokers/postgres.js';
import type { Broker } from '../../src/messaging/broker.js';
import { ageQuery, backlogQuery } from '../../src/synth/index.js';
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

test('backlogQuery and ageQuery return the broker\'s backlog (summed) and oldest age (highest) for those subscriptions and no other', async () => {
  const [counters, notify] = referenceSubscriptions.get('background')!;
  // A name with a quote must not break (or escape) the query.
  const odd = { ...counters!, name: "o'brien-counters" };
  for (const s of [counters!, notify!, odd]) await broker.ensureSubscription(s);
  const msg = (i: number, ageMs: number) => ({ id: `m${i}`, payload: { table: 'upvotes', op: 'insert' }, publishedAt: new Date(Date.now() - ageMs) });
  await broker.publish(counters!.topic, Array.from({ length: 7 }, (_, i) => msg(i, 1000)));
  await broker.publish(notify!.topic, Array.from({ length: 3 }, (_, i) => msg(100 + i, 90_000)));

  // KEDA reads the first column of the first row.
  const count = async (q: string) => Number((await client.query<unknown[]>({ text: q, rowMode: 'array' })).rows[0]![0]);
  for (const subs of [[counters!], [notify!], [odd], [counters!, notify!]]) {
    const stats = await Promise.all(subs.map((s) => broker.stats(s.name)));
    expect(await count(backlogQuery(subs)), subs.map((s) => s.name).join()).toBe(stats.reduce((n, s) => n + s.backlog, 0));
    const oldest = Math.max(0, ...stats.map((s) => s.oldestAgeMs ?? 0)) / 1000;
    // Read a moment apart: within a second of each other.
    expect(Math.abs(await count(ageQuery(subs)) - oldest)).toBeLessThan(1);
  }
  expect((await broker.stats(notify!.name)).backlog).toBe(3);
  expect(await count(backlogQuery([counters!, notify!]))).toBe(10);
});
