// The service declaration: what users write (input types) and what the loader resolves it into.

export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';
/** A duration such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`. */
export type Duration = `${number}${DurationUnit}`;
export type Priority = 'critical' | 'normal' | 'background';
export type UnitKind = 'api' | 'worker' | 'realtime' | 'cron' | 'job' | 'cdc';

export interface Replicas { min?: number; max?: number }
export interface Resources { cpu?: string; memory?: string }

/** Scale-up/-down behaviour, as in the HPA `behavior` field. */
export interface ScalePolicy { type: 'pods' | 'percent'; value: number; period: Duration }
export interface ScaleRules { stabilization?: Duration; policies?: ScalePolicy[]; select?: 'max' | 'min' }
export interface Behavior { scaleUp?: ScaleRules; scaleDown?: ScaleRules }

interface UnitCommon {
  /** DNS-1123 label: lowercase letters, digits and `-`, at most 63 characters. */
  name: string;
  /** File relative to the config that default-exports the unit's behaviour. */
  entry?: string;
  replicas?: Replicas;
  resources?: Resources;
  env?: Record<string, string>;
  /**
   * The secrets (environment variables) this unit may read: a name, or `{ name, optional: true }`
   * for one that may be absent (a flag, an SMTP URL with a fallback).
   */
  secrets?: (string | SecretInput)[];
  priority?: Priority;
  /** Drain time on shutdown. */
  grace?: Duration;
  /**
   * Runs under `archipelago up` only: synth leaves the unit out of every manifest and Pulumi
   * program (demo data, local fixtures). Shorthand for `environments: ['local']`.
   */
  localOnly?: boolean;
  /**
   * The environments the unit exists in: `local` is `archipelago up`, any other name is synth's
   * `--environment`. Every environment when omitted.
   */
  environments?: string[];
}

export interface SecretInput {
  name: string;
  /** The pod starts without it (`secretKeyRef.optional`); the unit's code sees it absent. */
  optional?: boolean;
}

export interface HealthPaths { liveness?: string; readiness?: string }

export interface ApiUnitInput extends UnitCommon {
  kind: 'api';
  port: number;
  health?: HealthPaths;
  /** Targets: average CPU or memory utilisation in percent of the request, connections per replica. */
  scale?: { cpu?: number; memory?: number; connections?: number; behavior?: Behavior };
  /**
   * Addresses or CIDRs of the proxies in front of the unit (an ingress, a load balancer) whose
   * `X-Forwarded-For` is believed for the client address. Default none: the peer is the client.
   */
  trustProxy?: string[];
  /**
   * `strict` (default): JSON bodies are validated as sent (no coercion, unknown properties and
   * NUL characters refused); `fastify`: Fastify's own defaults (coercion, unknown properties dropped).
   */
  validation?: 'strict' | 'fastify';
}
export interface RealtimeUnitInput extends Omit<ApiUnitInput, 'kind'> { kind: 'realtime' }
export interface WorkerUnitInput extends UnitCommon {
  kind: 'worker';
  entry: string;
  /**
   * KEDA-style targets: `backlog` messages per replica, `age` of the oldest message.
   * `activation` is the backlog above which a unit at zero wakes; `cooldown` how long an idle
   * unit waits before scaling to zero; `polling` how often metrics are read.
   */
  scale?: { backlog?: number; age?: Duration; activation?: number; cooldown?: Duration; polling?: Duration; fallback?: number; behavior?: Behavior };
}
export interface CronUnitInput extends UnitCommon {
  kind: 'cron';
  entry: string;
  /** Five-field cron expression (robfig/cron's standard grammar, as Kubernetes parses it), or a descriptor such as `@hourly`. */
  schedule: string;
  /** An IANA zone name, spelled exactly (case-sensitive). */
  timezone?: string;
  concurrency?: 'forbid' | 'allow' | 'replace';
  /** A run still going after this is stopped. */
  deadline?: Duration;
  /** A scheduled time not started within this is skipped (CronJob `startingDeadlineSeconds`). */
  startingDeadline?: Duration;
}
export interface JobUnitInput extends UnitCommon {
  kind: 'job';
  entry: string;
  runOn?: 'deploy' | 'manual';
  deadline?: Duration;
}
export interface CdcUnitInput extends UnitCommon {
  kind: 'cdc';
  tables: string[];
  /** Warn when the replication slot retains more WAL than this many bytes. */
  maxRetainedBytes?: number;
}

export type UnitInput = ApiUnitInput | RealtimeUnitInput | WorkerUnitInput | CronUnitInput | JobUnitInput | CdcUnitInput;

export type BrokerInput = 'postgres' | { kind: 'postgres' } | { kind: 'nats'; url?: string; stream?: string } | 'nats';

export interface ServiceInput {
  name: string;
  broker?: BrokerInput;
  /** Folder of SQL migrations, relative to the config. Default `migrations`. */
  migrations?: string;
  units: UnitInput[];
}

// ---- resolved (fully defaulted, frozen) ----

export interface ResolvedCommon {
  readonly name: string;
  readonly index: number;
  readonly entry: string | undefined;
  /** Absolute path of the entry file. */
  readonly entryPath: string | undefined;
  readonly replicas: { readonly min: number; readonly max: number };
  readonly resources: { readonly cpu: string; readonly memory: string; readonly cpuMillis: number; readonly memoryBytes: number };
  readonly env: Readonly<Record<string, string>>;
  /** Every declared secret's name, optional ones included. */
  readonly secrets: readonly string[];
  /** The declared secrets that may be absent. */
  readonly optionalSecrets: readonly string[];
  readonly priority: Priority;
  readonly graceMs: number;
  readonly grace: Duration;
  /** Where the unit exists; `undefined` means every environment (see `runsIn`). */
  readonly environments: readonly string[] | undefined;
}
export interface ResolvedBehavior {
  readonly scaleUp: { readonly stabilizationMs: number; readonly policies: readonly { type: 'pods' | 'percent'; value: number; periodMs: number }[]; readonly select: 'max' | 'min' };
  readonly scaleDown: { readonly stabilizationMs: number; readonly policies: readonly { type: 'pods' | 'percent'; value: number; periodMs: number }[]; readonly select: 'max' | 'min' };
}
export interface ResolvedListening extends ResolvedCommon {
  readonly port: number;
  readonly health: { readonly liveness: string; readonly readiness: string };
  readonly scale: { readonly cpu?: number; readonly memory?: number; readonly connections?: number; readonly behavior: ResolvedBehavior };
  readonly trustProxy: readonly string[];
  readonly validation: 'strict' | 'fastify';
}
export interface ResolvedApiUnit extends ResolvedListening { readonly kind: 'api' }
export interface ResolvedRealtimeUnit extends ResolvedListening { readonly kind: 'realtime' }
export interface ResolvedWorkerUnit extends ResolvedCommon {
  readonly kind: 'worker';
  readonly scale: { readonly backlog?: number; readonly ageMs?: number; readonly activation: number; readonly cooldownMs: number; readonly pollingMs: number; readonly fallback?: number; readonly behavior: ResolvedBehavior };
}
export interface ResolvedCronUnit extends ResolvedCommon {
  readonly kind: 'cron';
  readonly schedule: string;
  readonly timezone: string;
  readonly concurrency: 'forbid' | 'allow' | 'replace';
  readonly deadlineMs: number | undefined;
  /** Default 5 minutes, which synth also emits. */
  readonly startingDeadlineMs: number;
}
export interface ResolvedJobUnit extends ResolvedCommon {
  readonly kind: 'job';
  readonly runOn: 'deploy' | 'manual';
  readonly deadlineMs: number | undefined;
}
export interface ResolvedCdcUnit extends ResolvedCommon {
  readonly kind: 'cdc';
  readonly tables: readonly string[];
  readonly maxRetainedBytes: number;
}
export type ResolvedUnit = ResolvedApiUnit | ResolvedRealtimeUnit | ResolvedWorkerUnit | ResolvedCronUnit | ResolvedJobUnit | ResolvedCdcUnit;

export type ResolvedBroker = { readonly kind: 'postgres' } | { readonly kind: 'nats'; readonly url: string; readonly stream: string };

export interface ResolvedService {
  readonly name: string;
  /** Folder holding the config file. */
  readonly root: string;
  readonly configPath: string;
  readonly broker: ResolvedBroker;
  readonly migrationsDir: string;
  readonly units: readonly ResolvedUnit[];
}

export interface ValidationIssue {
  readonly code: import('../errors.js').ErrorCode;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}
