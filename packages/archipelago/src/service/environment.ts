// What a unit's process environment holds, derived once from the declaration for both places a
// unit runs: synth renders it as the pod's ConfigMap and secretKeyRefs, the supervisor builds each
// replica's environment from it. A unit sees its own `env`, the secrets it declares and the
// toolkit's variables; nothing else.
import type { ResolvedService, ResolvedUnit } from './types.js';

/** Secret keys every unit reads besides the ones it declares. */
export const PLATFORM_SECRET = 'DATABASE_URL';
export const NATS_SECRET = 'NATS_URL';
export const NATS_MONITORING_SECRET = 'NATS_MONITORING_ENDPOINT';

export interface EnvironmentTarget {
  /** `local` under `archipelago up`, synth's `--environment` in a cluster. */
  readonly environment: string;
  /** Left out when undefined (locally, when the supervisor itself has none). */
  readonly nodeEnv: string | undefined;
  /** The admin port (0 locally: a free one per replica). */
  readonly adminPort: number;
  /** The address servers listen on (`ARCHIPELAGO_HOST`), left out when undefined. */
  readonly host: string | undefined;
  /** The service's version (synth: the image tag), put in the traces' resource; left out when undefined. */
  readonly version?: string;
}

/**
 * How a variable of `perReplica` names the replica: Kubernetes expands `$(VAR)` from a variable
 * defined before it in the container (ARCHIPELAGO_REPLICA, the pod's name from the downward API);
 * the supervisor puts the replica's id in its place.
 */
export const REPLICA_REF = '$(ARCHIPELAGO_REPLICA)';

export interface UnitEnvironment {
  /** Plain variables, sorted by name: the toolkit's, then the unit's `env`, which wins. */
  readonly plain: Readonly<Record<string, string>>;
  /** Secret names: the platform's, then the declared ones. */
  readonly secrets: readonly string[];
  /** The declared secrets that may be absent. */
  readonly optional: readonly string[];
  /** Variables whose value names the replica through REPLICA_REF (the traces' resource attributes). */
  readonly perReplica: Readonly<Record<string, string>>;
}

export function platformSecrets(service: Pick<ResolvedService, 'broker'>): string[] {
  return [PLATFORM_SECRET, ...(service.broker.kind === 'nats' ? [NATS_SECRET] : [])];
}

export function unitEnvironment(service: ResolvedService, unit: ResolvedUnit, target: EnvironmentTarget): UnitEnvironment {
  const data: Record<string, string> = {
    ARCHIPELAGO_SERVICE: service.name,
    ARCHIPELAGO_UNIT: unit.name,
    ARCHIPELAGO_ENVIRONMENT: target.environment,
    ARCHIPELAGO_ADMIN_PORT: String(target.adminPort),
  };
  if (target.nodeEnv !== undefined) data.NODE_ENV = target.nodeEnv;
  if (target.host !== undefined) data.ARCHIPELAGO_HOST = target.host;
  if (unit.kind === 'api' || unit.kind === 'realtime') data.PORT = String(unit.port);
  // OpenTelemetry's standard variables: which service and unit a replica's spans come from. Export
  // stays off until OTEL_EXPORTER_OTLP_ENDPOINT is set (the unit's `env`, or `up` locally).
  data.OTEL_SERVICE_NAME = `${service.name}-${unit.name}`;
  const resource = [
    `service.namespace=${service.name}`, `archipelago.unit=${unit.name}`, `deployment.environment.name=${target.environment}`,
    ...(target.version ? [`service.version=${target.version}`] : []),
    `service.instance.id=${REPLICA_REF}`, `k8s.pod.name=${REPLICA_REF}`,
  ];
  // The unit's own attributes come last: OpenTelemetry lets a later key win.
  const { OTEL_RESOURCE_ATTRIBUTES: own, ...env } = unit.env;
  const plain = Object.fromEntries(Object.entries({ ...data, ...env }).sort(([a], [b]) => a.localeCompare(b)));
  const perReplica = { OTEL_RESOURCE_ATTRIBUTES: [...resource, ...(own ? [own] : [])].join(',') };
  return { plain, secrets: [...new Set([...platformSecrets(service), ...unit.secrets])], optional: unit.optionalSecrets, perReplica };
}
