// PostgreSQL client spans for the toolkit's pools: one span per query made while a span is active
// (a request, a delivery, a run), named for its operation, with the statement text (never the
// parameter values). Queries outside any span (broker polling, probes) make none, so idle loops do
// not flood the traces.
import type pg from 'pg';
import { activeSpan, fail, SpanKind, tracer } from './spans.js';

type QueryFn = (...args: unknown[]) => unknown;
const wrapped = new WeakSet<object>();

function statement(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const text = (arg as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}

/** `SELECT`, `INSERT`, … : the first keyword, as the span name (OpenTelemetry's db.operation.name). */
function operation(sql: string): string {
  return /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? 'QUERY';
}

function traced(target: { query: QueryFn }, database: string | undefined): void {
  if (wrapped.has(target)) return;
  wrapped.add(target);
  const query = target.query.bind(target);
  target.query = (...args: unknown[]) => {
    // Callback calls are pg's own (the pool's query hands its client one): the outer call has a span.
    // A submittable (a cursor, a stream) returns itself, not a promise: left as it is.
    if (!activeSpan() || typeof args.at(-1) === 'function' || typeof (args[0] as { submit?: unknown } | null)?.submit === 'function') return query(...args);
    const sql = statement(args[0]);
    const op = operation(sql);
    const span = tracer().startSpan(op, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': op, 'db.query.text': sql, ...(database ? { 'db.namespace': database } : {}) },
    });
    const p = query(...args) as Promise<unknown>;
    return p.then((r) => { span.end(); return r; }, (e: unknown) => { fail(span, e); span.end(); throw e; });
  };
}

/** Adds client spans to `pool.query` and to the clients `pool.connect()` hands out. */
export function tracePool(pool: pg.Pool, connectionString: string): void {
  let database: string | undefined;
  try { database = decodeURIComponent(new URL(connectionString).pathname.slice(1)) || undefined; } catch { /* not a URL: no namespace */ }
  traced(pool as unknown as { query: QueryFn }, database);
  pool.on('connect', (client) => traced(client as unknown as { query: QueryFn }, database));
}
