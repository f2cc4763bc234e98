// The recent traces `archipelago up` keeps for the console: spans from OTLP/JSON export requests,
// grouped by trace, in a ring bounded by trace count (oldest updated trace out first) and by spans
// per trace.
import { ATTR_REPLICA, ATTR_UNIT } from './spans.js';

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
type Scalar = string | number | boolean;

export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: SpanKindName;
  /** The unit it ran in (`archipelago.unit`, else the service name). */
  readonly unit: string;
  readonly replica?: string;
  /** Epoch milliseconds (fractional). */
  readonly startMs: number;
  readonly durationMs: number;
  readonly error: boolean;
  readonly statusMessage?: string;
  readonly attributes: Readonly<Record<string, Scalar>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string; readonly attributes: Readonly<Record<string, Scalar>> }[];
}

export interface TraceSummary {
  readonly traceId: string;
  /** The root span's name: a route (`POST /posts/:id/upvote`), a topic, a run. */
  readonly root: string;
  readonly rootUnit: string;
  readonly startMs: number;
  readonly durationMs: number;
  /** Units crossed, in the order they first appear. */
  readonly units: readonly string[];
  readonly spans: number;
  readonly error: boolean;
}

export interface TraceView extends TraceSummary {
  /** Ordered by start time. */
  readonly items: readonly TraceSpan[];
}

/** OTLP/JSON as the OpenTelemetry JavaScript exporter writes it (hex ids, nanoseconds as strings or numbers). */
interface OtlpValue { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } }
interface OtlpAttribute { key: string; value?: OtlpValue }
interface OtlpSpan {
  traceId?: string; spanId?: string; parentSpanId?: string; name?: string; kind?: number;
  startTimeUnixNano?: string | number; endTimeUnixNano?: string | number; attributes?: OtlpAttribute[];
  status?: { code?: number; message?: string }; links?: { traceId?: string; spanId?: string; attributes?: OtlpAttribute[] }[];
}
export interface OtlpExport { resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }

const KINDS: readonly SpanKindName[] = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];

function scalar(v: OtlpValue | undefined): Scalar | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.arrayValue) return JSON.stringify((v.arrayValue.values ?? []).map(scalar));
  return undefined;
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const a of list ?? []) { const v = scalar(a.value); if (v !== undefined) out[a.key] = v; }
  return out;
}

/** Nanoseconds since the epoch (a decimal string, or a number past 2^53 that is only approximate) as milliseconds. */
const ms = (nanos: string | number | undefined) => {
  if (nanos === undefined) return 0;
  if (typeof nanos === 'number') return nanos / 1e6;
  return /^\d+$/.test(nanos) ? Number(BigInt(nanos) / 1000n) / 1000 : Number(nanos) / 1e6;
};

export class TraceStore {
  readonly #traces = new Map<string, TraceSpan[]>();
  constructor(readonly maxTraces = 300, readonly maxSpansPerTrace = 2000) {}

  /** Adds every span of one export request; returns how many were kept. */
  add(body: OtlpExport): number {
    let kept = 0;
    for (const rs of body.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          if (!s.traceId || !s.spanId) continue;
          const attrs = attributes(s.attributes);
          const start = ms(s.startTimeUnixNano);
          const span: TraceSpan = {
            traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
            name: s.name ?? '', kind: KINDS[s.kind ?? 0] ?? 'internal',
            unit: String(attrs[ATTR_UNIT] ?? resource[ATTR_UNIT] ?? resource['service.name'] ?? 'unknown'),
            ...(attrs[ATTR_REPLICA] ?? resource[ATTR_REPLICA] ? { replica: String(attrs[ATTR_REPLICA] ?? resource[ATTR_REPLICA]) } : {}),
            startMs: start, durationMs: Math.max(0, ms(s.endTimeUnixNano) - start),
            error: s.status?.code === 2, ...(s.status?.message ? { statusMessage: s.status.message } : {}),
            attributes: attrs,
            links: (s.links ?? []).filter((l) => l.traceId && l.spanId).map((l) => ({ traceId: l.traceId!, spanId: l.spanId!, attributes: attributes(l.attributes) })),
          };
          let list = this.#traces.get(span.traceId);
          if (list) this.#traces.delete(span.traceId);
          else list = [];
          this.#traces.set(span.traceId, list);
          if (list.length < this.maxSpansPerTrace) { list.push(span); kept++; }
        }
      }
    }
    while (this.#traces.size > this.maxTraces) this.#traces.delete(this.#traces.keys().next().value!);
    return kept;
  }

  /** The most recent traces first. */
  list(limit = 100): TraceSummary[] {
    return [...this.#traces.values()].map(summarise).sort((a, b) => b.startMs - a.startMs).slice(0, limit);
  }

  get(traceId: string): TraceView | undefined {
    const spans = this.#traces.get(traceId);
    if (!spans) return undefined;
    return { ...summarise(spans), items: [...spans].sort((a, b) => a.startMs - b.startMs) };
  }
}

function summarise(spans: readonly TraceSpan[]): TraceSummary {
  const ids = new Set(spans.map((s) => s.spanId));
  const ordered = [...spans].sort((a, b) => a.startMs - b.startMs);
  // The root: the span without a parent, else the earliest whose parent has not arrived (yet).
  const root = ordered.find((s) => !s.parentSpanId) ?? ordered.find((s) => !ids.has(s.parentSpanId!)) ?? ordered[0]!;
  const start = ordered[0]!.startMs;
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  return {
    traceId: root.traceId, root: root.name, rootUnit: root.unit, startMs: start, durationMs: end - start,
    units: [...new Set(ordered.map((s) => s.unit))], spans: spans.length, error: spans.some((s) => s.error),
  };
}
