// The spans the unit hosts make themselves: an api request's SERVER span continues the caller's
// `traceparent`, runs the handler (and its pool's queries, as CLIENT spans) inside it, and skips the
// probes; a realtime unit's broadcast is received under its sender's span and fans out as a
// `websocket send` span.
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { topic } from '../../src/messaging/topic.js';
import { resolveService } from '../../src/service/index.js';
import { startUnitHost, type UnitHost } from '../../src/testing/unit-host.js';
import { api, realtime } from '../../src/units/define.js';
import { createTestDatabase } from '../support/db.js';
import { exporter, registerProvider } from './propagation.js';

const tracer = registerProvider();
const LIVE = topic('live-test', { schema: z.object({ post: z.string() }) });
const service = resolveService({ name: 'svc', units: [{ name: 'web', kind: 'api', entry: 'web.ts', port: 3000 }, { name: 'push', kind: 'realtime', entry: 'push.ts', port: 3001 }] });
let databaseUrl: string;
const hosts: UnitHost[] = [];

beforeAll(async () => { databaseUrl = await createTestDatabase('trace_hosts'); });
afterAll(async () => { for (const h of hosts) await h.close(); });

/** Hosts are started while tracing is configured, so their pools make client spans. */
async function host(opts: Omit<Parameters<typeof startUnitHost>[0], 'service' | 'databaseUrl'>): Promise<UnitHost> {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9';
  try {
    const h = await startUnitHost({ service, databaseUrl, ...opts });
    hosts.push(h);
    return h;
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  }
}

describe('the api host', () => {
  it('continues the caller\'s trace, runs the handler and its queries inside the request\'s span, and traces no probe', async () => {
    const h = await host({
      unit: 'web',
      definition: api(async (app, ctx) => {
        app.get('/posts/:id', async () => {
          await ctx.db.query('SELECT 1 AS one');
          return { traceId: trace.getActiveSpan()?.spanContext().traceId };
        });
      }),
    });
    const traceId = 'ab'.repeat(16);
    const caller = 'cd'.repeat(8);
    const res = await fetch(`http://127.0.0.1:${h.port}/posts/7`, { headers: { traceparent: `00-${traceId}-${caller}-01` } });
    expect(await res.json()).toEqual({ traceId });
    expect((await fetch(`http://127.0.0.1:${h.port}/healthz`)).status).toBe(200);
    const spans = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const end = Date.now() + 5000;
    while (!spans().some((s) => s.kind === SpanKind.SERVER) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const server = spans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.name).toBe('GET /posts/:id');
    expect(server.parentSpanContext?.spanId).toBe(caller);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/posts/:id', 'url.path': '/posts/7', 'http.response.status_code': 200 });
    const query = spans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(query).toBeDefined();
    expect(query.name).toBe('SELECT');
    expect(query.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(query.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.query.text': 'SELECT 1 AS one' });
    expect(exporter.getFinishedSpans().some((s) => s.attributes['url.path'] === '/healthz')).toBe(false);
  });
});

describe('the realtime host', () => {
  it('receives a broadcast under its sender\'s span and fans it out as a websocket send span', async () => {
    const h = await host({
      unit: 'push',
      definition: realtime({ authenticate: () => ({}), broadcasts: [{ topic: LIVE, handler: (m: { post: string }, hub) => { hub.publish(`post:${m.post}`, m); } }] }),
    });
    const sender = await tracer.startActiveSpan('background', async (s) => { await h.messaging.broadcast(LIVE, { post: '9' }); s.end(); return s.spanContext(); });
    const end = Date.now() + 5000;
    const find = () => exporter.getFinishedSpans().find((s) => s.name === 'websocket send' && s.spanContext().traceId === sender.traceId);
    while (!find() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const send = find()!;
    expect(send, 'the websocket send span').toBeDefined();
    expect(send.attributes).toMatchObject({ 'archipelago.ws.channel': 'post:9', 'archipelago.ws.recipients': 0 });
    const receive = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === send.parentSpanContext?.spanId)!;
    expect(receive.name).toBe('receive live-test');
    expect(receive.kind).toBe(SpanKind.CONSUMER);
  });
});
