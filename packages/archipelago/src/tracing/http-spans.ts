// The SERVER span of one HTTP request to an api or realtime unit, continuing the caller's trace
// when its request carries a `traceparent` header.
import type { IncomingHttpHeaders } from 'node:http';
import { propagation, SpanStatusCode } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, trace, tracer, type Context, type Span } from './spans.js';

export interface ServerSpan { readonly span: Span; readonly context: Context }

/** Starts the span; `route` is the matched route pattern (`/posts/:id/upvote`), absent for a 404. */
export function startServerSpan(method: string, route: string | undefined, path: string, headers: IncomingHttpHeaders): ServerSpan {
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = tracer().startSpan(route ? `${method} ${route}` : method, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'url.path': path, ...(route ? { 'http.route': route } : {}) },
  }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

export function endServerSpan(s: ServerSpan, status: number, aborted: boolean): void {
  s.span.setAttribute('http.response.status_code', status);
  if (status >= 500) s.span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
  if (aborted) s.span.setAttribute('archipelago.client_aborted', true);
  s.span.end();
}
