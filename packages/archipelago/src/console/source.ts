// The contract between the console and whatever runs the service (the supervisor): plain data in,
// a few actions out, so the console never reaches into supervisor internals.
import type { DeadLetter, SubscriptionStats } from '../messaging/broker.js';
import type { UnitKind } from '../service/types.js';
import type { TraceSummary, TraceView } from '../tracing/store.js';

export type { TraceSpan, TraceSummary, TraceView } from '../tracing/store.js';

export type Health = 'starting' | 'healthy' | 'degraded' | 'down' | 'idle';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface ReplicaView {
  readonly id: string;
  readonly pid?: number;
  /** e.g. starting, ready, draining, exited, backoff. */
  readonly state: string;
  readonly restarts: number;
}

export interface RunView {
  readonly id: string;
  /** ISO timestamps. */
  readonly startedAt: string;
  readonly finishedAt?: string | null;
  readonly status: 'running' | 'succeeded' | 'failed' | 'skipped';
  readonly trigger?: 'schedule' | 'manual' | 'deploy';
  readonly error?: string;
}

export interface UnitView {
  readonly name: string;
  readonly kind: UnitKind;
  readonly replicas: { readonly ready: number; readonly desired: number; readonly min: number; readonly max: number };
  readonly health: Health;
  readonly restarts: number;
  /** Milliseconds until the next restart attempt while a replica backs off, else null. */
  readonly backoffMs: number | null;
  readonly replicaList?: readonly ReplicaView[];
  readonly port?: number;
  /** Subscription names this unit consumes (workers). */
  readonly subscriptions?: readonly string[];
  readonly cron?: { readonly schedule: string; readonly timezone?: string; readonly nextRunAt: string | null; readonly lastRuns: readonly RunView[] };
  readonly job?: { readonly runOn: 'deploy' | 'manual'; readonly lastRuns: readonly RunView[] };
}

export interface RunStart { readonly started: boolean; readonly run?: string; readonly reason?: string }

export interface ConsoleSnapshot {
  readonly service: string;
  readonly units: readonly UnitView[];
}

export interface ScaleDecision {
  /** Epoch ms. */
  readonly at: number;
  readonly unit: string;
  readonly from: number;
  readonly to: number;
  /** Human-readable: which metric, its value, the target. */
  readonly reason: string;
}

export interface LogLine {
  /** Epoch ms. */
  readonly at: number;
  readonly unit: string;
  /** Replica id, e.g. `api-2`, or `supervisor`. */
  readonly replica: string;
  readonly level: LogLevel;
  readonly msg: string;
  /** The trace the line was written in (its `trace_id`), linked to the trace's waterfall. */
  readonly traceId?: string;
}

/** Live load of one unit as the supervisor last measured it; every field is optional. */
export interface UnitLoad {
  /** CPU of all replicas, in percent of one core. */
  readonly cpu?: number;
  readonly eventLoopLagMs?: number;
  /** Requests per second (apis). */
  readonly requestRate?: number;
  readonly p99Ms?: number;
  /** Open connections (realtime). */
  readonly connections?: number;
}

export interface TopicView {
  readonly topic: string;
  readonly subscriptions: readonly (SubscriptionStats & { readonly unit: string })[];
}

export type ConsoleEvent =
  | { readonly type: 'change' }
  | { readonly type: 'log'; readonly line: LogLine }
  | { readonly type: 'decision'; readonly decision: ScaleDecision };

export interface ConsoleSource {
  snapshot(): ConsoleSnapshot;
  /** Calls `listener` for every change, log line and scale decision; returns an unsubscribe. */
  subscribe(listener: (e: ConsoleEvent) => void): () => void;
  /** What happened before the console started listening. */
  recentLogs(): readonly LogLine[];
  recentDecisions(): readonly ScaleDecision[];
  /** Load per unit name; the console samples it every `pollingMs`. */
  load(): Promise<Readonly<Record<string, UnitLoad>>> | Readonly<Record<string, UnitLoad>>;
  /** How often to sample, usually the autoscaler's polling interval. Default 1000. */
  readonly pollingMs?: number;
  scale(unit: string, replicas: number): Promise<void>;
  /** Starts a run now; `started: false` with a reason when the unit's concurrency policy skips it. */
  runCron(unit: string): Promise<RunStart | void>;
  /** Starts a job run and returns without waiting for it to finish. */
  runJob(unit: string): Promise<RunStart | void>;
  topics(): Promise<readonly TopicView[]>;
  deadLetters: {
    list(subscription: string, opts?: { limit?: number }): Promise<readonly DeadLetter[]>;
    get(subscription: string, id: string): Promise<DeadLetter | undefined>;
    replay(subscription: string, ids?: readonly string[]): Promise<number>;
    purge(subscription: string, ids?: readonly string[]): Promise<number>;
  };
  /** The recent traces, when the runner collects them (absent: the console shows none). */
  readonly traces?: {
    list(): readonly TraceSummary[];
    get(traceId: string): TraceView | undefined;
  };
}

/** One metric sample of one unit, as kept for the charts. */
export interface MetricSample extends UnitLoad {
  readonly at: number;
  readonly replicas: number;
  readonly desired: number;
  /** Per subscription the unit consumes. */
  readonly backlog?: Readonly<Record<string, { readonly backlog: number; readonly oldestAgeMs: number | null }>>;
}
