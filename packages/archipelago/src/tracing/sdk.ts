// Turns tracing on in a replica with the official OpenTelemetry SDK when an OTLP endpoint is
// configured (the standard OTEL_* variables), and leaves it off otherwise: the SDK is then never
// loaded and the API stays a no-op.
//
// The toolkit creates its spans itself (HTTP server, PostgreSQL queries, publish, delivery, cron
// and job runs, WebSocket sends) instead of loading @opentelemetry/instrumentation-http/-pg/
// -fastify. Measured on Node 20 with instrumentation-pg 0.65: it patches `pg` when `pg` is loaded
// after it is registered (an `import('pg')` then gets spans, with or without the
// import-in-the-middle hook), and sees nothing when `pg` was loaded first. Here it always is: the
// CLI's module graph imports pg, fastify and http before a replica knows its unit and starts
// tracing, so using them would take an `--import` bootstrap on every replica's command line (the
// supervisor's forks, the image's entrypoint). Every unit's queries and requests already go
// through the toolkit's own pool and Fastify setup, which is where the spans are made.
import { ATTR_REPLICA, ATTR_UNIT } from './spans.js';

export interface TracingOptions {
  readonly service: string;
  readonly unit: string;
  readonly replica: string;
  /** Read instead of process.env (tests). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered and stops; idempotent. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };

/** True when the standard variables ask for traces to be exported. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let current: Tracing | undefined;

/**
 * Registers the global tracer provider for this process: W3C trace context, AsyncLocalStorage
 * context, OTLP/HTTP (JSON) export in batches, the sampler from OTEL_TRACES_SAMPLER(_ARG), and a
 * resource from the unit overlaid with OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
export async function startTracing(opts: TracingOptions): Promise<Tracing> {
  if (current) return current;
  if (!tracingConfigured(opts.env)) return OFF;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'), import('@opentelemetry/resources'),
  ]);
  const resource = resourceFromAttributes({
    'service.name': `${opts.service}-${opts.unit}`, 'service.namespace': opts.service, 'service.instance.id': opts.replica,
    [ATTR_UNIT]: opts.unit, [ATTR_REPLICA]: opts.replica,
  }).merge(detectResources({ detectors: [envDetector] }));
  // Each span also names its unit and replica itself: a span read without its resource (a log
  // search, a backend that drops resource attributes) still says where it ran.
  const unitAttributes = {
    onStart(span: { setAttribute(k: string, v: string): unknown }) { span.setAttribute(ATTR_UNIT, opts.unit); span.setAttribute(ATTR_REPLICA, opts.replica); },
    onEnd() {}, forceFlush: async () => {}, shutdown: async () => {},
  };
  const provider = new NodeTracerProvider({ resource, spanProcessors: [unitAttributes, new BatchSpanProcessor(new OTLPTraceExporter())] });
  provider.register();
  let stopped: Promise<void> | undefined;
  current = { enabled: true, shutdown: () => (stopped ??= provider.shutdown().catch(() => {})) };
  return current;
}
