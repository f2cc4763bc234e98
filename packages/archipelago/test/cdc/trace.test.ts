// A change carries the trace of the transaction that wrote it: the toolkit's transaction helper
// leaves the span's traceparent in the WAL as a logical decoding message, the relay reads it from
// pgoutput and publishes each change under a span of the writer's trace; a write outside the helper
// carries none.
import { SpanKind, trace } from '@opentelemetry/api';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRelay, type Relay } from '../../src/cdc/index.js';
import { transaction } from '../../src/database/pool.js';
import type { RawDelivery } from '../../src/messaging/broker.js';
import { createMemoryBroker } from '../../src/messaging/index.js';
import { resolveService } from '../../src/service/index.js';
import type { ResolvedCdcUnit } from '../../src/service/types.js';
import { createTestDatabase } from '../support/db.js';
import { exporter, registerProvider } from '../tracing/propagation.js';
import { dropSlots, waitFor } from './support.js';

const tracer = registerProvider();
let url: string;
let pool: pg.Pool;
let relay: Relay | undefined;
const broker = createMemoryBroker();
const got: RawDelivery[] = [];

beforeAll(async () => {
  url = await createTestDatabase('cdc_trace', { replication: true });
  pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query('CREATE TABLE posts (id int PRIMARY KEY, title text NOT NULL)');
  const spec = { name: 'sink', topic: 'changes.posts', unit: 'test', concurrency: 10, maxAttempts: 1, backoff: { initialMs: 1, maxMs: 1, factor: 1 }, deadlineMs: 10_000 };
  await broker.ensureSubscription(spec);
  await broker.consume(spec, async (d) => { got.push(d); return { ok: true }; });
  const service = resolveService({ name: 'traced', units: [{ name: 'changes', kind: 'cdc', tables: ['posts'] }] });
  relay = await startRelay({ service, unit: service.units[0] as ResolvedCdcUnit, databaseUrl: url, broker, logger: pino({ level: 'silent' }), pollMs: 200 });
  await waitFor('an active relay', async () => relay!.status().state === 'active');
  await waitFor('its slot', async () => (await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [relay!.status().slot])).rowCount! > 0, 45_000);
});

afterAll(async () => {
  await relay?.stop(0);
  await broker.close();
  await dropSlots(pool);
  await pool?.end();
});

const delivered = (id: number) => waitFor(`the change of post ${id}`, async () => got.find((d) => (d.payload as { after?: { id: number } }).after?.id === id), 30_000);

it('publishes a change written through the transaction helper under a span of the writer\'s trace', async () => {
  const writer = await tracer.startActiveSpan('writer', async (span) => {
    await transaction(pool, async (c) => { await c.query(`INSERT INTO posts VALUES (1, 'traced')`); });
    span.end();
    return span.spanContext();
  });
  const d = await delivered(1);
  const tp = d.headers?.traceparent;
  expect(tp, 'the change message carries a traceparent').toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  expect(tp!.split('-')[1]).toBe(writer.traceId);
  const span = await waitFor('the relay span', async () => exporter.getFinishedSpans().find((s) => s.name === 'publish changes.posts' && s.spanContext().traceId === writer.traceId));
  expect(span.kind).toBe(SpanKind.PRODUCER);
  expect(span.parentSpanContext?.spanId).toBe(writer.spanId);
  expect(span.attributes).toMatchObject({ 'archipelago.cdc.table': 'posts', 'archipelago.cdc.op': 'insert' });
  // The message's context is the relay span's: its consumers are children of the relay's publish.
  expect(tp!.split('-')[2]).toBe(span.spanContext().spanId);
});

it('publishes a change written outside the helper, or outside any span, with no trace and no relay span', async () => {
  await tracer.startActiveSpan('autocommit writer', async (span) => { await pool.query(`INSERT INTO posts VALUES (2, 'autocommit')`); span.end(); });
  await transaction(pool, async (c) => { await c.query(`INSERT INTO posts VALUES (3, 'no span')`); });
  expect((await delivered(2)).headers).toBeUndefined();
  expect((await delivered(3)).headers).toBeUndefined();
  expect(trace.getActiveSpan()).toBeUndefined();
  expect(exporter.getFinishedSpans().filter((s) => s.name === 'publish changes.posts')).toHaveLength(1);
});
