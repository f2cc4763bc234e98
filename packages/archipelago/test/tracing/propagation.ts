// The trace-context suite every broker runs: a delivery's span continues its publish's trace (a
// plain publish, a `{ tx }` publish, a broadcast), and a redelivery links back to the publish.
import { randomBytes } from 'node:crypto';
import { SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPool, transaction } from '../../src/database/pool.js';
import type { Broker } from '../../src/messaging/broker.js';
import { createMessaging } from '../../src/messaging/index.js';
import { topic } from '../../src/messaging/topic.js';
import { subscribe, type UnitContext } from '../../src/units/define.js';

const logger = pino({ level: 'silent' });

export const exporter = new InMemorySpanExporter();
let tracer: Tracer;
/** One provider per test process, as a replica has: W3C propagation and AsyncLocalStorage context. */
export function registerProvider(): Tracer {
  if (!tracer) {
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
    tracer = trace.getTracer('test');
  }
  return tracer;
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; spans: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;

export function runPropagationSuite(o: { name: string; newBroker: () => Promise<Broker>; databaseUrl: () => string }): void {
  describe(`trace context through the ${o.name} broker`, () => {
    const tag = randomBytes(3).toString('hex');
    const T = topic(`traced-${o.name}-${tag}`, { schema: z.object({ n: z.number(), failFirst: z.boolean() }) });
    const B = topic(`traced-live-${o.name}-${tag}`, { schema: z.object({ n: z.number() }) });
    let broker: Broker;
    let pool: ReturnType<typeof createPool>;
    const t = registerProvider();

    beforeAll(async () => {
      broker = await o.newBroker();
      // Client spans are made only by pools created while tracing is configured.
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
      pool = createPool(o.databaseUrl());
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    });
    afterAll(async () => { await broker?.close(); await pool?.end(); });

    it('parents every delivery on its publish, for plain and { tx } publishes, and links a redelivery to the publish', async () => {
      const m = createMessaging(broker, { unit: 'worker', logger });
      const seen: { n: number; attempt: number; traceId?: string }[] = [];
      const h = await m.startSubscriptions([subscribe(T, `traced-${o.name}-${tag}`, async (d) => {
        seen.push({ n: d.message.n, attempt: d.attempt, traceId: trace.getActiveSpan()?.spanContext().traceId });
        if (d.message.failFirst && d.attempt === 1) throw new Error('first attempt fails');
      }, { maxAttempts: 3, backoff: { initial: '20ms' } })], {} as UnitContext);
      try {
        const plain = await t.startActiveSpan('plain request', async (root) => { await m.publish(T, { n: 1, failFirst: true }); root.end(); return root.spanContext(); });
        const inTx = await t.startActiveSpan('tx request', async (root) => {
          await transaction(pool, (tx) => m.publish(T, { n: 2, failFirst: false }, { tx }));
          root.end();
          return root.spanContext();
        });
        const consumers = await until('three deliveries', () => {
          const c = exporter.getFinishedSpans().filter((s) => s.name === `process ${T.name}`);
          return c.length >= 3 && c;
        });
        const producers = exporter.getFinishedSpans().filter((s) => s.name === `publish ${T.name}`);
        const producerOf = (traceId: string) => producers.find((p) => p.spanContext().traceId === traceId)!;

        // The plain publish: two attempts, both children of the one publish span in the request's trace.
        const p1 = producerOf(plain.traceId);
        expect(p1.kind).toBe(SpanKind.PRODUCER);
        expect(parentOf(p1)).toBe(plain.spanId);
        const attempts = consumers.filter((c) => c.spanContext().traceId === plain.traceId).sort((a, b) => Number(a.attributes['messaging.delivery.attempt']) - Number(b.attributes['messaging.delivery.attempt']));
        expect(attempts.map((a) => a.attributes['messaging.delivery.attempt'])).toEqual([1, 2]);
        for (const a of attempts) { expect(a.kind).toBe(SpanKind.CONSUMER); expect(parentOf(a)).toBe(idOf(p1)); }
        expect(attempts[0]!.status.code).toBe(2);
        expect(attempts[0]!.links).toEqual([]);
        expect(attempts[1]!.links).toHaveLength(1);
        expect(attempts[1]!.links[0]!.context.spanId).toBe(idOf(p1));
        expect(attempts[1]!.links[0]!.attributes).toMatchObject({ 'archipelago.link': 'redelivery', 'messaging.delivery.previous_attempts': 1 });

        // The { tx } publish (a queue row, or the nats outbox relayed later) keeps its request's trace.
        const p2 = producerOf(inTx.traceId);
        expect(parentOf(p2)).toBe(inTx.spanId);
        expect(p2.attributes['archipelago.transactional']).toBe(true);
        const d2 = consumers.filter((c) => c.spanContext().traceId === inTx.traceId);
        expect(d2).toHaveLength(1);
        expect(parentOf(d2[0]!)).toBe(idOf(p2));
        // The handler ran inside its delivery's span.
        expect(seen.find((s) => s.n === 2)?.traceId).toBe(inTx.traceId);
        // The pool's queries in the request are client spans of its trace.
        const queries = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT && s.spanContext().traceId === inTx.traceId);
        expect(queries.map((q) => q.attributes['db.system.name'])).toContain('postgresql');
      } finally {
        await h.stop(1000);
        await m.close();
      }
    });

    it('parents a broadcast\'s receive on its send', async () => {
      const m = createMessaging(broker, { unit: 'live', logger });
      const got: (string | undefined)[] = [];
      const off = await m.startBroadcasts([{ topic: B, handler: () => { got.push(trace.getActiveSpan()?.spanContext().traceId); } }], {} as UnitContext);
      try {
        const root = await t.startActiveSpan('pusher', async (s) => { await m.broadcast(B, { n: 1 }); s.end(); return s.spanContext(); });
        const receive = await until('the receive span', () => exporter.getFinishedSpans().find((s) => s.name === `receive ${B.name}`));
        const send = exporter.getFinishedSpans().find((s) => s.name === `broadcast ${B.name}`)!;
        expect(parentOf(send)).toBe(root.spanId);
        expect(receive.kind).toBe(SpanKind.CONSUMER);
        expect(receive.spanContext().traceId).toBe(root.traceId);
        expect(parentOf(receive)).toBe(idOf(send));
        expect(got).toEqual([root.traceId]);
      } finally {
        await off();
        await m.close();
      }
    });
  });
}
