// The console's trace store and the OTLP/HTTP receiver `up` runs: spans grouped by trace across
// export requests from several units, summaries (root, units crossed, error), a bounded ring, and
// refusals for what it cannot read.
import { describe, expect, it } from 'vitest';
import { startCollector } from '../../src/tracing/collector.js';
import { TraceStore } from '../../src/tracing/store.js';
import { otlpExport } from './otlp.js';

const T1 = 'a'.repeat(32);

describe('TraceStore', () => {
  it('joins one trace\'s spans from several units into one summary: root, duration, units in order, error', () => {
    const store = new TraceStore();
    const t0 = Date.now();
    // The consumer's replica exports first: the root arrives later and still becomes the root.
    store.add(otlpExport('background', [{ traceId: T1, spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'process changes.upvotes', kind: 5, startMs: t0 + 20, ms: 30, error: true }]));
    expect(store.list()[0]!.root).toBe('process changes.upvotes');
    store.add(otlpExport('api', [{ traceId: T1, spanId: '1'.repeat(16), name: 'POST /posts/:id/upvote', kind: 2, startMs: t0, ms: 10, attributes: { 'http.response.status_code': 201 } }]));
    const [s] = store.list();
    expect(s).toMatchObject({ traceId: T1, root: 'POST /posts/:id/upvote', rootUnit: 'api', units: ['api', 'background'], spans: 2, error: true });
    expect(s!.durationMs).toBeCloseTo(50, 0);
    const view = store.get(T1)!;
    expect(view.items.map((i) => [i.unit, i.kind, i.replica])).toEqual([['api', 'server', 'api-0'], ['background', 'consumer', 'background-0']]);
    expect(view.items[0]!.attributes['http.response.status_code']).toBe(201);
    expect(store.get('b'.repeat(32))).toBeUndefined();
  });

  it('keeps at most maxTraces traces (the least recently updated go first) and maxSpansPerTrace spans each', () => {
    const store = new TraceStore(3, 2);
    const id = (n: number) => n.toString(16).padStart(32, '0');
    for (let n = 1; n <= 4; n++) store.add(otlpExport('api', [{ traceId: id(n), spanId: 'f'.repeat(16), name: `t${n}`, startMs: n, ms: 1 }]));
    expect(store.list().map((t) => t.root).sort()).toEqual(['t2', 't3', 't4']);
    expect(store.add(otlpExport('api', [1, 2, 3].map((k) => ({ traceId: id(4), spanId: String(k).repeat(16), parentSpanId: 'f'.repeat(16), name: `c${k}`, startMs: 5, ms: 1 }))))).toBe(1);
    expect(store.get(id(4))!.spans).toBe(2);
  });
});

describe('the OTLP/HTTP receiver', () => {
  it('stores JSON export requests and refuses protobuf and malformed bodies', async () => {
    const c = await startCollector();
    try {
      const post = (body: string, type: string) => fetch(`${c.endpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
      const ok = await post(JSON.stringify(otlpExport('api', [{ traceId: T1, spanId: '1'.repeat(16), name: 'GET /feed', kind: 2, startMs: Date.now(), ms: 3 }])), 'application/json');
      expect(ok.status).toBe(200);
      expect(c.store.get(T1)?.root).toBe('GET /feed');
      expect((await post('\x0a\x00', 'application/x-protobuf')).status).toBe(415);
      expect((await post('{not json', 'application/json')).status).toBe(400);
      expect((await fetch(`${c.endpoint}/v1/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await c.close();
    }
  });
});
