// The local autoscaler loop: every polling interval it reads a unit's metrics (backlog and oldest
// age of its own subscriptions, CPU and memory of each replica from the OS, connections from the
// replicas' reports), asks the autoscaler for a replica count and applies it.
import type { ResolvedUnit } from '../service/types.js';
import { createAutoscaler, utilisation, type Autoscaler, type Metrics } from '../scaling/index.js';
import type { LogMux } from './logs.js';
import type { SupervisorState } from './state.js';
import type { UnitRunner } from './unit.js';
import { UsageMeter } from './usage.js';
import { kindOf } from '../service/kinds.js';

/** Backlog and oldest-message age summed over a unit's subscriptions, or null when unreadable. */
export type BacklogReader = (unit: string) => Promise<{ backlog: number; oldestAgeMs: number | null } | null>;

export interface AutoscaleOptions {
  state: SupervisorState;
  logs: LogMux;
  /** Polling interval for api and realtime units; workers use their `scale.polling`. */
  pollingMs: number;
  readBacklog: BacklogReader;
  /** When false, metrics are still read for status but replica counts change only by hand. */
  enabled: boolean;
}

export class AutoscaleLoop {
  /** The pending tick of each unit: one timer per unit, replaced each round (never accumulated). */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly usage = new UsageMeter();

  constructor(private readonly opts: AutoscaleOptions) {}

  add(unit: ResolvedUnit, runner: UnitRunner): void {
    if (!kindOf(unit).longRunning) return;
    const scaler = createAutoscaler(unit);
    const every = kindOf(unit).autoscaledBy === 'backlog' ? scaler.pollingMs : this.opts.pollingMs;
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.step(unit, runner, scaler);
      } catch (e) {
        // The loop must never crash the supervisor: report and try again next interval.
        this.opts.logs.warn(`autoscaler: ${unit.name}: ${(e as Error).message}`, { unit: unit.name });
      }
      if (!this.stopped) this.timers.set(unit.name, setTimeout(() => void tick(), every));
    };
    this.timers.set(unit.name, setTimeout(() => void tick(), every));
  }

  private async step(unit: ResolvedUnit, runner: UnitRunner, scaler: Autoscaler): Promise<void> {
    const metrics = await this.metrics(unit, runner);
    const status = this.opts.state.unit(unit.name);
    if (status) status.metrics = { ...metrics } as Record<string, number | null>;
    const current = runner.desired;
    // Metrics are read for status either way; a fixed-size unit or autoscaling off decides nothing.
    if (unit.replicas.min === unit.replicas.max || !this.opts.enabled) return;
    const now = Date.now();
    const d = scaler.decide({ now, current, metrics });
    // Every round, changed or not: stabilisation windows depend on all of them, so a replay needs them all.
    this.opts.state.recordSample(unit.name, { at: now, current, metrics: { ...d.metrics }, to: d.to });
    if (this.stopped || d.to === current) return;
    const shown = Object.entries(d.metrics).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' ');
    this.opts.logs.info(`scale ${unit.name}: ${current} -> ${d.to} (${d.reason}) ${shown}`, { unit: unit.name, from: current, to: d.to });
    this.opts.state.recordScale({ at: new Date().toISOString(), unit: unit.name, from: current, to: d.to, reason: d.reason, source: 'autoscaler', metrics: { ...d.metrics } });
    runner.setDesired(d.to);
  }

  private async metrics(unit: ResolvedUnit, runner: UnitRunner): Promise<Metrics> {
    const m: { -readonly [K in keyof Metrics]: Metrics[K] } = {};
    if (kindOf(unit).autoscaledBy === 'backlog') {
      const b = await this.opts.readBacklog(unit.name);
      m.backlog = b?.backlog ?? null;
      m.oldestAgeMs = b ? b.oldestAgeMs : null;
    }
    const live = runner.replicas.filter((r) => r.live && r.pid !== undefined);
    if (live.length === 0) return m;
    const usage = await this.usage.measure(live.map((r) => ({ pid: r.pid!, ready: r.status.state === 'ready' })));
    live.forEach((r, i) => {
      const u = usage[i]!;
      if (u.cpuCores !== null) r.status.cpu = Math.round(u.cpuCores * 1000) / 10;
      if (u.memoryBytes !== null) r.status.memoryBytes = u.memoryBytes;
    });
    Object.assign(m, utilisation(usage, unit.resources));
    // Summed over replicas: the autoscaler divides by the per-replica target.
    m.connections = live.reduce((s, r) => s + r.status.connections, 0);
    return m;
  }

  /** Pending timers, one per unit at most (for tests of the loop's bookkeeping). */
  get pendingTimers(): number { return this.timers.size; }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.usage.clear();
  }
}
