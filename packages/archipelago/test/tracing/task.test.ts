// A job's run, in a real `archipelago run` child configured only through the standard variables,
// is one span exported over OTLP/HTTP JSON (to the receiver `up` uses) before the process exits,
// named for the run, carrying its unit and replica; its log lines carry the span's trace_id and
// span_id. Without an endpoint, no span and no ids.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCollector, type TraceCollector } from '../../src/tracing/collector.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica } from '../support/replica-process.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;
let collector: TraceCollector;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('trace_task');
  collector = await startCollector();
});
afterAll(async () => { killAll(); await collector?.close(); });

it('exports the run\'s span before exiting, and the run\'s log lines name it', async () => {
  const r = startReplica(['run', 'job-ok', '--config', CONFIG, '--', '--since', '2026-01-01'], {
    env: { DATABASE_URL: databaseUrl, OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,k8s.pod.name=job-ok-x1', ARCHIPELAGO_REPLICA: 'job-ok-x1' },
  });
  expect((await r.exited).code).toBe(0);
  const [summary] = collector.store.list().filter((t) => t.root === 'job job-ok');
  expect(summary, 'the job\'s trace').toBeDefined();
  const run = collector.store.get(summary!.traceId)!.items.find((s) => s.name === 'job job-ok')!;
  expect(run).toMatchObject({ unit: 'job-ok', replica: 'job-ok-x1', kind: 'internal', error: false });
  expect(run.attributes).toMatchObject({ 'archipelago.kind': 'job', 'archipelago.args': '--since 2026-01-01', 'archipelago.unit': 'job-ok' });
  const body = r.logs.find((l) => l.msg === 'task body ran');
  expect(body).toMatchObject({ trace_id: summary!.traceId, span_id: run.spanId });
  // Outside the span (the line before the run starts), no ids.
  expect(r.logs.find((l) => l.msg === 'job started')?.trace_id).toBeUndefined();
});

it('exports nothing and writes no ids without an endpoint', async () => {
  const before = collector.store.list().length;
  const r = startReplica(['run', 'job-ok', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined } });
  expect((await r.exited).code).toBe(0);
  expect(r.logs.find((l) => l.msg === 'task body ran')?.trace_id).toBeUndefined();
  expect(collector.store.list()).toHaveLength(before);
});
