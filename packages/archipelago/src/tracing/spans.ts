// The toolkit's spans through the OpenTelemetry API alone: a tracer, W3C trace context in and out
// of message headers, and running work inside a span. Without a registered SDK (tracing off) every
// call here hits the API's no-op implementation: no spans, no headers, next to no cost.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import { TOOLKIT } from '../toolkit.js';

export { SpanKind, context, trace, ROOT_CONTEXT, type Context, type Span, type Link, type Attributes };

/** Message headers as brokers carry them: W3C `traceparent` and `tracestate`. */
export type MessageHeaders = Readonly<Record<string, string>>;

/** Resource and span attribute naming the unit a span ran in (the console groups by it). */
export const ATTR_UNIT = 'archipelago.unit';
export const ATTR_REPLICA = 'archipelago.replica';

let cached: ReturnType<typeof trace.getTracer> | undefined;
/** The toolkit's tracer: a proxy that finds the provider once one is registered, so it is made once. */
export function tracer() {
  return (cached ??= trace.getTracer(TOOLKIT.name, TOOLKIT.version));
}

/** The trace context of `ctx` as message headers, or undefined when there is none to carry. */
export function headersOf(ctx: Context = context.active()): Record<string, string> | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a message's headers carry (the root context when they carry none). */
export function contextOf(headers: MessageHeaders | undefined): Context {
  return headers?.traceparent ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
}

/** The span currently active, when it is recorded (a no-op span is none). */
export function activeSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/** Marks `span` failed with `e`, as OpenTelemetry's conventions record an exception. */
export function fail(span: Span, e: unknown): void {
  span.recordException(e instanceof Error ? e : String(e));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
}

/** Runs `fn` inside `span` (a child of `parent`'s context), ending it when `fn` settles. */
export async function within<T>(span: Span, parent: Context, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (e) {
    fail(span, e);
    throw e;
  } finally {
    span.end();
  }
}

/** Starts a span named `name` under the active context and runs `fn` in it. */
export function inSpan<T>(name: string, opts: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context }, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links }, parent);
  return within(span, parent, () => fn(span));
}

/** `trace_id` and `span_id` for a log line written inside a span (pino's mixin); empty outside one. */
export function logFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  return trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The active sampled span's `traceparent`, checked to be exactly W3C's shape (safe to put in SQL text). */
export function sampledTraceparent(): string | undefined {
  const span = activeSpan();
  if (!span || (span.spanContext().traceFlags & 1) === 0) return undefined;
  const tp = headersOf()?.traceparent;
  return tp && TRACEPARENT.test(tp) ? tp : undefined;
}
