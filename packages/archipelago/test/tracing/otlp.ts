// OTLP/JSON export bodies as the OpenTelemetry JavaScript exporter writes them, for tests.
import type { OtlpExport } from '../../src/tracing/store.js';

export interface FakeSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; startMs: number; ms: number; error?: boolean; attributes?: Record<string, string | number> }

const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** One export request from one replica of `unit`. */
export function otlpExport(unit: string, spans: readonly FakeSpan[]): OtlpExport {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${unit}` } }, { key: 'archipelago.unit', value: { stringValue: unit } }, { key: 'archipelago.replica', value: { stringValue: `${unit}-0` } }] },
      scopeSpans: [{
        spans: spans.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}), name: s.name, kind: s.kind ?? 1,
          startTimeUnixNano: nanos(s.startMs), endTimeUnixNano: nanos(s.startMs + s.ms),
          attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } })),
          status: s.error ? { code: 2, message: 'boom' } : { code: 0 },
        })),
      }],
    }],
  };
}
