// Fills every default synth needs in one place, so the builders only read a finished plan.
import { createHash } from 'node:crypto';
import { ArchipelagoError } from '../errors.js';
import type { SubscriptionSpec } from '../messaging/broker.js';
import type { Priority, ResolvedService, ResolvedUnit } from '../service/types.js';
import { unitEnvironment } from '../service/environment.js';
import { KINDS } from '../service/kinds.js';
import { ADMIN_PORT, CONTAINER_HOST, HEALTH_PATHS, PRESTOP_SECONDS } from '../contracts.js';
import type { SynthOptions } from './objects.js';

export { ADMIN_PORT, PRESTOP_SECONDS } from '../contracts.js';
export const PRIORITY_VALUES: Record<Priority, number> = { critical: 100_000, normal: 10_000, background: 1_000 };
export { PLATFORM_SECRET, NATS_SECRET, NATS_MONITORING_SECRET } from '../service/environment.js';

export interface SynthContext {
  readonly service: ResolvedService;
  readonly opts: SynthOptions;
  /** The one Secret holding every key (`<service>-secrets`); units reference only their keys. */
  readonly secretName: string;
  readonly serviceAccount: string;
  readonly triggerAuthName: string;
  readonly version: string;
  readonly imageHash: string;
  /** Labels of objects that belong to no single unit. */
  readonly labels: Readonly<Record<string, string>>;
  readonly plans: readonly UnitPlan[];
}

export interface UnitPlan {
  readonly unit: ResolvedUnit;
  /** Resource name: `<service>-<unit>`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The immutable subset used by selectors (never the version). */
  readonly selector: Readonly<Record<string, string>>;
  readonly configMapName: string;
  readonly configData: Readonly<Record<string, string>>;
  /** Secret keys the container references: declared secrets plus the platform's. */
  readonly secretKeys: readonly string[];
  /** Container variables naming the pod through `$(ARCHIPELAGO_REPLICA)` (OTEL_RESOURCE_ATTRIBUTES). */
  readonly replicaEnv: Readonly<Record<string, string>>;
  /** Port of the probes and metrics: the unit's port for api/realtime, the admin port otherwise. */
  readonly port: number | undefined;
  readonly health: { readonly liveness: string; readonly readiness: string } | undefined;
  readonly terminationGraceSeconds: number;
  readonly priorityClassName: string;
  /** True when an HPA or a ScaledObject owns the replica count. */
  readonly autoscaled: boolean;
  readonly subscriptions: readonly SubscriptionSpec[];
}

export function priorityClassName(service: string, p: Priority): string {
  return `${service}-${p}`;
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(v: string): string {
  const s = v.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return s || 'unknown';
}

/** The image's tag (or digest prefix) as a version label. */
export function imageVersion(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return labelValue(image.slice(at + 1).replace(/^sha256:/, '').slice(0, 12));
  const tail = image.slice(image.lastIndexOf('/') + 1);
  const colon = tail.lastIndexOf(':');
  return colon >= 0 ? labelValue(tail.slice(colon + 1)) : 'latest';
}

export function shortHash(s: string, length = 8): string {
  return createHash('sha256').update(s).digest('hex').slice(0, length);
}

export function normalize(service: ResolvedService, opts: SynthOptions): SynthContext {
  for (const [field, v] of [['image', opts.image], ['namespace', opts.namespace], ['environment', opts.environment]] as const) {
    if (typeof v !== 'string' || v.trim() === '') throw new ArchipelagoError('ARCH_E_USAGE', `synth: ${field} must be a non-empty string`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(opts.namespace)) {
    throw new ArchipelagoError('ARCH_E_USAGE', `synth: namespace ("${opts.namespace}") must be a DNS-1123 label`);
  }
  const version = imageVersion(opts.image);
  const base = {
    'app.kubernetes.io/name': service.name,
    'app.kubernetes.io/instance': labelValue(`${service.name}-${opts.environment}`),
    'app.kubernetes.io/part-of': service.name,
    'app.kubernetes.io/managed-by': 'archipelago',
  };
  const plans = service.units.map((unit): UnitPlan => {
    const selector = { ...pick(base, 'app.kubernetes.io/name', 'app.kubernetes.io/instance'), 'app.kubernetes.io/component': unit.name };
    const { longRunning } = KINDS[unit.kind];
    const subscriptions = opts.subscriptions.get(unit.name) ?? [];
    const graceSeconds = Math.ceil(unit.graceMs / 1000);
    // The same function builds each local replica's environment (supervisor/spawn.ts).
    const environment = unitEnvironment(service, unit, { environment: opts.environment, nodeEnv: 'production', adminPort: ADMIN_PORT, host: CONTAINER_HOST, version });
    return {
      unit,
      name: `${service.name}-${unit.name}`,
      labels: { ...base, 'app.kubernetes.io/component': unit.name, 'app.kubernetes.io/version': version, 'archipelago.dev/kind': unit.kind },
      selector,
      configMapName: `${service.name}-${unit.name}-env`,
      configData: environment.plain,
      secretKeys: environment.secrets,
      replicaEnv: environment.perReplica,
      port: 'port' in unit ? unit.port : longRunning ? ADMIN_PORT : undefined,
      health: 'health' in unit ? unit.health : longRunning ? HEALTH_PATHS : undefined,
      terminationGraceSeconds: graceSeconds + (longRunning ? PRESTOP_SECONDS : 0),
      priorityClassName: priorityClassName(service.name, unit.priority),
      autoscaled: isAutoscaled(unit, subscriptions.length),
      subscriptions,
    };
  });
  return {
    service, opts, version, plans,
    secretName: `${service.name}-secrets`,
    serviceAccount: service.name,
    triggerAuthName: `${service.name}-broker`,
    imageHash: shortHash(opts.image),
    labels: { ...base, 'app.kubernetes.io/version': version },
  };
}

/**
 * An HPA or ScaledObject exists (and owns `replicas`) only when the count can move and a target says
 * how: without one the local autoscaler keeps the unit where it is, and so does the cluster.
 */
function isAutoscaled(unit: ResolvedUnit, subscriptions: number): boolean {
  switch (unit.kind) {
    case 'api': case 'realtime': {
      const s = unit.scale;
      return unit.replicas.max > unit.replicas.min && (s.cpu !== undefined || s.memory !== undefined || s.connections !== undefined);
    }
    case 'worker':
      return subscriptions > 0 && (unit.scale.backlog !== undefined || unit.scale.ageMs !== undefined) && (unit.replicas.max > unit.replicas.min || unit.replicas.min === 0);
    default: return false;
  }
}

function pick<T extends Record<string, string>>(o: T, ...keys: (keyof T)[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Record<string, string>;
}
