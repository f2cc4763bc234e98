// The supervisor's state model: what `status`, the control endpoint and a console read. Plain data
// plus change events, so a browser console can render the same snapshot and follow the events.
import { EventEmitter } from 'node:events';
import type { UnitKind, Priority } from '../service/types.js';
import type { CdcLoad } from '../units/process-metrics.js';
import type { DatabaseHealth } from './supervised-database.js';
import { KINDS } from '../service/kinds.js';

export type ReplicaPhase = 'starting' | 'running' | 'ready' | 'unready' | 'draining' | 'exited' | 'backoff';

export interface ReplicaStatus {
  id: string;
  slot: number;
  pid: number | null;
  state: ReplicaPhase;
  startedAt: string | null;
  adminPort: number | null;
  port: number | null;
  inFlight: number;
  connections: number;
  handled: number;
  eventLoopLagMs: number;
  /** Requests per second and their p99 in ms, as an api replica last reported them. */
  requestRate?: number;
  p99Ms?: number;
  /** A cdc replica's relay: active or standby, and its lag (WAL bytes, seconds). */
  cdc?: CdcLoad;
  /** CPU in percent of one core, as the OS reports it. */
  cpu: number | null;
  memoryBytes: number | null;
  restarts: number;
  /** Current back-off delay before the next start, when the replica is waiting to restart. */
  backoffMs: number | null;
  nextStartAt: string | null;
  lastExit: { code: number | null; signal: string | null; at: string; reason: string } | null;
}

export interface CronRun { startedAt: string; finishedAt: string | null; exitCode: number | null; outcome: 'running' | 'ok' | 'failed' | 'deadline' | 'replaced' | 'skipped' }
/** A job run, however it was started: on deploy, `job run`, or the console. */
export interface JobRun extends CronRun { id: string; trigger: 'deploy' | 'manual' }

export interface UnitStatus {
  name: string;
  kind: UnitKind;
  priority: Priority;
  port: number | null;
  replicas: { min: number; max: number; desired: number; ready: number };
  restarts: number;
  /** The longest current back-off among the unit's replicas, or null when none waits. */
  backoff: { delayMs: number; nextStartAt: string | null } | null;
  health: 'healthy' | 'degraded' | 'down' | 'idle' | 'starting';
  replicaList: ReplicaStatus[];
  cron: { schedule: string; timezone: string; concurrency: string; running: number; next: string | null; last: CronRun | null; runs: CronRun[] } | null;
  /** A job unit's latest runs, oldest first. */
  jobRuns?: JobRun[];
  metrics: Record<string, number | null>;
}

export interface ScaleDecision {
  at: string;
  unit: string;
  from: number;
  to: number;
  reason: string;
  source: 'autoscaler' | 'manual';
  metrics: Record<string, number | null | undefined>;
}

/** One round of the local autoscaler: the readings it decided on and what it decided (replayed by `archipelago simulate`). */
export interface ScaleSample { at: number; current: number; metrics: Record<string, number | null>; to: number }

export interface StatusSnapshot {
  service: string;
  root: string;
  pid: number;
  startedAt: string;
  mode: 'processes' | 'single-process';
  /** `health` for an embedded server the supervisor restarts when it dies. */
  database: { url: string; embedded: boolean; health?: DatabaseHealth } | null;
  units: UnitStatus[];
  history: ScaleDecision[];
}

export interface LogLine { at: string; unit: string; replica: string; stream: 'stdout' | 'stderr' | 'supervisor'; line: string }

const HISTORY = 500;
const LOGS = 1000;
const CRON_RUNS = 20;
/** Autoscaler rounds kept per unit: an hour at the 2 s default polling. */
const SAMPLES = 1800;

/**
 * Holds unit and replica status. Mutators emit `change` (unit name), `scale` (ScaleDecision) and
 * `log` (LogLine) so that observers need not poll.
 */
export class SupervisorState extends EventEmitter {
  readonly units = new Map<string, UnitStatus>();
  readonly history: ScaleDecision[] = [];
  readonly logs: LogLine[] = [];
  readonly samples = new Map<string, ScaleSample[]>();
  readonly startedAt = new Date().toISOString();
  database: StatusSnapshot['database'] = null;
  mode: StatusSnapshot['mode'] = 'processes';
  private readonly retired = new Map<string, number>();

  constructor(readonly service: string, readonly root: string) {
    super();
  }

  addUnit(u: Omit<UnitStatus, 'restarts' | 'backoff' | 'health' | 'replicaList' | 'metrics'>): UnitStatus {
    const status: UnitStatus = { ...u, restarts: 0, backoff: null, health: 'starting', replicaList: [], metrics: {} };
    this.units.set(u.name, status);
    this.changed(u.name);
    return status;
  }

  unit(name: string): UnitStatus | undefined {
    return this.units.get(name);
  }

  /** Recomputes a unit's derived fields (ready count, health, back-off) and emits `change`. */
  changed(name: string): void {
    const u = this.units.get(name);
    if (!u) return;
    const live = u.replicaList.filter((r) => r.state !== 'exited');
    u.replicas.ready = live.filter((r) => r.state === 'ready').length;
    u.restarts = u.replicaList.reduce((n, r) => n + r.restarts, 0) + (this.retired.get(name) ?? 0);
    const waiting = u.replicaList.filter((r) => r.state === 'backoff' && r.backoffMs !== null);
    u.backoff = waiting.length === 0 ? null : waiting.reduce<UnitStatus['backoff']>((acc, r) => (acc && acc.delayMs >= r.backoffMs! ? acc : { delayMs: r.backoffMs!, nextStartAt: r.nextStartAt }), null);
    if (!KINDS[u.kind].longRunning) u.health = 'idle';
    else if (u.replicas.desired === 0 && live.length === 0) u.health = 'idle';
    else if (u.replicas.ready >= u.replicas.desired && u.replicas.desired > 0) u.health = 'healthy';
    else if (u.replicas.ready > 0) u.health = 'degraded';
    else if (live.some((r) => r.state === 'starting' || r.state === 'running') && waiting.length === 0) u.health = 'starting';
    else u.health = 'down';
    this.emit('change', name);
  }

  /** Keeps a removed replica's restarts in the unit's total. */
  retire(name: string, replica: ReplicaStatus): void {
    const u = this.units.get(name);
    if (!u) return;
    this.retired.set(name, (this.retired.get(name) ?? 0) + replica.restarts);
    u.replicaList = u.replicaList.filter((r) => r !== replica);
    this.changed(name);
  }

  recordScale(d: ScaleDecision): void {
    this.history.push(d);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    this.emit('scale', d);
  }

  recordSample(unit: string, sample: ScaleSample): void {
    let list = this.samples.get(unit);
    if (!list) this.samples.set(unit, (list = []));
    list.push(sample);
    if (list.length > SAMPLES) list.splice(0, list.length - SAMPLES);
  }

  /** Adds a job run (kept by reference: finish it with `Object.assign` and `changed`). */
  recordJobRun(name: string, run: JobRun): void {
    const u = this.units.get(name);
    if (!u) return;
    const runs = (u.jobRuns ??= []);
    runs.push(run);
    if (runs.length > CRON_RUNS) runs.splice(0, runs.length - CRON_RUNS);
    this.changed(name);
  }

  recordCronRun(name: string, run: CronRun): void {
    const c = this.units.get(name)?.cron;
    if (!c) return;
    c.runs.push(run);
    if (c.runs.length > CRON_RUNS) c.runs.splice(0, c.runs.length - CRON_RUNS);
    c.last = run;
    this.changed(name);
  }

  log(l: LogLine): void {
    this.logs.push(l);
    if (this.logs.length > LOGS) this.logs.splice(0, this.logs.length - LOGS);
    this.emit('log', l);
  }

  snapshot(): StatusSnapshot {
    const units = [...this.units.values()].map((u) => {
      return structuredClone(u);
    });
    return {
      service: this.service, root: this.root, pid: process.pid, startedAt: this.startedAt, mode: this.mode,
      database: this.database, units, history: structuredClone(this.history),
    };
  }
}
