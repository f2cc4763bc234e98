// Process-level measurements every host reports: event-loop lag and a request meter that feeds both
// Prometheus and the supervisor's once-a-second load report.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

const RESOLUTION_MS = 10;
let loop: IntervalHistogram | undefined;

/** The event loop's delay histogram; one per process, since there is one loop per process. */
function loopHistogram(): IntervalHistogram {
  if (!loop) {
    loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    loop.enable();
  }
  return loop;
}

/**
 * Mean event-loop lag since the previous call, in milliseconds. The histogram measures the timer's
 * whole interval, so the resolution itself is subtracted.
 */
export function takeEventLoopLagMs(): number {
  const h = loopHistogram();
  const mean = Number.isFinite(h.mean) ? h.mean / 1e6 : 0;
  h.reset();
  return Math.max(0, Math.round((mean - RESOLUTION_MS) * 100) / 100);
}

/** Default process metrics plus the event-loop lag percentiles, on `registry`. */
export function registerProcessMetrics(registry: Registry, opts: { defaults: boolean }): void {
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  const h = loopHistogram();
  new Gauge({
    name: 'archipelago_event_loop_lag_seconds', help: 'Event-loop delay beyond the sampling interval, by percentile',
    labelNames: ['quantile'], registers: [registry],
    collect() {
      for (const q of [50, 90, 99]) this.set({ quantile: String(q / 100) }, Math.max(0, h.percentile(q) / 1e6 - RESOLUTION_MS) / 1000);
    },
  });
}

/** A cdc relay's state as `status` shows it: which replica is active and how far behind it is. */
export interface CdcLoad { state: 'standby' | 'active' | 'stopped'; lagBytes: number | null; lagSeconds: number; changesRelayed: number }

export interface LoadSample { inFlight: number; connections: number; handled: number; requestRate?: number; p99Ms?: number; cdc?: CdcLoad }

/** Counts work items (HTTP requests, messages): in flight, handled, rate and p99 latency per report window. */
export class Meter {
  inFlight = 0;
  handled = 0;
  private window: number[] = [];
  private windowStart = Date.now();
  private idle: (() => void)[] = [];
  private readonly total: Counter<'status'>;
  private readonly duration: Histogram;
  private readonly inFlightGauge: Gauge;

  constructor(registry: Registry, what: 'http_requests' | 'messages') {
    this.total = new Counter({ name: `archipelago_${what}_total`, help: `${what.replace('_', ' ')} handled, by outcome`, labelNames: ['status'], registers: [registry] });
    this.duration = new Histogram({ name: `archipelago_${what}_duration_seconds`, help: `Time to handle ${what.replace('_', ' ')}`, registers: [registry],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    this.inFlightGauge = new Gauge({ name: `archipelago_${what}_in_flight`, help: `${what.replace('_', ' ')} being handled now`, registers: [registry] });
  }

  start(): number {
    this.inFlight++;
    this.inFlightGauge.inc();
    return performance.now();
  }

  end(started: number, status: string): void {
    const ms = performance.now() - started;
    this.inFlight--;
    this.handled++;
    this.inFlightGauge.dec();
    this.total.inc({ status });
    this.duration.observe(ms / 1000);
    // Bounded so a flood between reports cannot grow memory without limit.
    if (this.window.length < 50_000) this.window.push(ms);
    if (this.inFlight === 0) for (const f of this.idle.splice(0)) f();
  }

  /** Resolves when nothing is in flight. */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  /** Rate and p99 over the window since the previous call. */
  take(): { requestRate: number; p99Ms: number } {
    const now = Date.now();
    const w = this.window;
    this.window = [];
    const seconds = Math.max(0.001, (now - this.windowStart) / 1000);
    this.windowStart = now;
    if (w.length === 0) return { requestRate: 0, p99Ms: 0 };
    w.sort((a, b) => a - b);
    const p99 = w[Math.min(w.length - 1, Math.ceil(w.length * 0.99) - 1)]!;
    return { requestRate: Math.round((w.length / seconds) * 10) / 10, p99Ms: Math.round(p99 * 10) / 10 };
  }
}

/** Messages published to a topic with no subscription (kept by no broker), per topic. */
export function registerUnroutedMetric(registry: Registry, read: () => ReadonlyMap<string, number>): void {
  new Counter({
    name: 'archipelago_messages_unrouted_total', help: 'Messages published to a topic that has no subscription, so no broker kept them',
    labelNames: ['topic'], registers: [registry],
    collect() {
      this.reset();
      for (const [topic, n] of read()) this.inc({ topic }, n);
    },
  });
}
