// Rules the Kubernetes API server and KEDA's admission webhook apply that the kubernetes-models
// schemas do not (they are compiled without additionalProperties, names, lengths or cross-field
// checks): written from apimachinery's validation (IsDNS1123Subdomain, IsQualifiedName,
// IsValidLabelValue), apps/batch/autoscaling validation and KEDA's ScaledObject webhook. Each
// refusal names the object, the field and the rule.
import { ArchipelagoError } from '../errors.js';
import { CronSyntaxError, parseSchedule, validateTimeZone } from '../schedule/index.js';
import type { K8sObject } from './objects.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const describeObj = (o: K8sObject) => `${o.kind ?? '?'} "${o.metadata?.name ?? '?'}"`;

function refuse(o: K8sObject, field: string, problem: string, rule: string): never {
  throw new ArchipelagoError('ARCH_E_SYNTH_INVALID', `${describeObj(o)}: ${field} ${problem} (rule: ${rule})`, [describeObj(o), field, rule]);
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Names that become a pod's hostname part or a label value are limited further than 253. */
const NAME_MAX: Record<string, number> = { CronJob: 52, Service: 63, Job: 63, Deployment: 63, ScaledObject: 63 };
const NAME_WHY: Record<string, string> = {
  CronJob: 'the controller appends 11 characters to name its Jobs',
  ScaledObject: 'KEDA puts it in the scaledobject.keda.sh/name label',
};

function labelProblems(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (!isObj(labels)) return 'must be a map of strings';
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.lastIndexOf('/');
    const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return `key "${k}": the prefix must be a DNS-1123 subdomain of at most 253 characters`;
    if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) return `key "${k}": the name must be 1-63 characters, alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
    if (typeof v !== 'string') return `value of "${k}" must be a string`;
    if (v.length > 63 || (v !== '' && !QUALIFIED_NAME.test(v))) return `value "${v}" of "${k}" must be at most 63 characters, alphanumerics, '-', '_' or '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/**
 * Fields each emitted object may carry, for the parts synth writes. The schemas accept any extra
 * key; the API server (with field validation Strict, kubectl's default since 1.27) refuses it, and a
 * misspelled field in a Pulumi transform would otherwise be silently dropped.
 */
const TOP = ['apiVersion', 'kind', 'metadata', 'spec', 'data', 'binaryData', 'stringData', 'type', 'immutable', 'value', 'globalDefault', 'description', 'preemptionPolicy', 'automountServiceAccountToken', 'secrets', 'imagePullSecrets'];
const METADATA = ['name', 'namespace', 'labels', 'annotations', 'generateName', 'ownerReferences', 'finalizers'];
const SPEC: Record<string, readonly string[]> = {
  Deployment: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  HorizontalPodAutoscaler: ['scaleTargetRef', 'minReplicas', 'maxReplicas', 'metrics', 'behavior'],
  ScaledObject: ['scaleTargetRef', 'pollingInterval', 'cooldownPeriod', 'initialCooldownPeriod', 'idleReplicaCount', 'minReplicaCount', 'maxReplicaCount', 'fallback', 'advanced', 'triggers'],
  CronJob: ['schedule', 'timeZone', 'startingDeadlineSeconds', 'concurrencyPolicy', 'suspend', 'jobTemplate', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'],
  Job: ['parallelism', 'completions', 'activeDeadlineSeconds', 'podFailurePolicy', 'successPolicy', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes', 'selector', 'manualSelector', 'template', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'podReplacementPolicy', 'managedBy'],
  Service: ['ports', 'selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity', 'loadBalancerIP', 'loadBalancerSourceRanges', 'externalName', 'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses', 'sessionAffinityConfig', 'ipFamilies', 'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy', 'trafficDistribution'],
  PodDisruptionBudget: ['minAvailable', 'maxUnavailable', 'selector', 'unhealthyPodEvictionPolicy'],
};
const CONTAINER = ['name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy', 'restartPolicy', 'volumeMounts', 'volumeDevices',
  'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'];

function unknown(o: K8sObject, at: string, value: unknown, allowed: readonly string[]): void {
  if (!isObj(value)) return;
  for (const k of Object.keys(value)) if (!allowed.includes(k)) refuse(o, at ? `${at}.${k}` : k, 'is not a field of this object', 'unknown-field');
}

function podTemplate(o: K8sObject): { at: string; template: Obj } | undefined {
  const spec = (o as { spec?: Obj }).spec;
  if (o.kind === 'Deployment' || o.kind === 'Job') return isObj(spec?.template) ? { at: 'spec.template', template: spec.template } : undefined;
  if (o.kind === 'CronJob') {
    const jt = isObj(spec?.jobTemplate) ? spec.jobTemplate : undefined;
    const t = isObj(jt?.spec) && isObj(jt.spec.template) ? jt.spec.template : undefined;
    return t ? { at: 'spec.jobTemplate.spec.template', template: t } : undefined;
  }
  return undefined;
}

interface ScalingRules { stabilizationWindowSeconds?: number; policies?: { type: string; value: number; periodSeconds: number }[] }

function behaviorRules(o: K8sObject, at: string, behavior: unknown): void {
  if (!isObj(behavior)) return;
  for (const dir of ['scaleUp', 'scaleDown'] as const) {
    const r = behavior[dir] as ScalingRules | undefined;
    if (!r) continue;
    const w = r.stabilizationWindowSeconds;
    if (w !== undefined && (w < 0 || w > 3600)) refuse(o, `${at}.${dir}.stabilizationWindowSeconds`, `(${w}) must be between 0 and 3600`, 'hpa-stabilization-window');
    r.policies?.forEach((p, i) => {
      if (!(p.periodSeconds > 0 && p.periodSeconds <= 1800)) refuse(o, `${at}.${dir}.policies[${i}].periodSeconds`, `(${p.periodSeconds}) must be between 1 and 1800`, 'hpa-policy-period');
      if (!(p.value > 0)) refuse(o, `${at}.${dir}.policies[${i}].value`, `(${p.value}) must be greater than 0`, 'hpa-policy-value');
    });
  }
}

/** Throws ARCH_E_SYNTH_INVALID at the first object breaking one of the rules. */
export function lint(objects: readonly K8sObject[]): void {
  for (const o of objects) {
    const name = o.metadata?.name ?? '';
    if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) refuse(o, 'metadata.name', `("${name}") must be a DNS-1123 subdomain: lower-case alphanumerics, '-' or '.', at most 253 characters`, 'dns-1123-subdomain');
    const max = NAME_MAX[o.kind ?? ''];
    if (max !== undefined && name.length > max) refuse(o, 'metadata.name', `("${name}") is longer than ${max} characters${NAME_WHY[o.kind!] ? ` (${NAME_WHY[o.kind!]})` : ''}`, 'name-length');
    if (o.kind === 'Service' && !DNS1035_LABEL.test(name)) refuse(o, 'metadata.name', `("${name}") must start with a letter (DNS-1035)`, 'dns-1035-label');

    unknown(o, '', o, TOP);
    unknown(o, 'metadata', o.metadata, METADATA);
    const spec = (o as { spec?: Obj }).spec;
    const specFields = SPEC[o.kind ?? ''];
    if (specFields) unknown(o, 'spec', spec, specFields);

    const labelled: [string, unknown][] = [['metadata.labels', o.metadata?.labels]];
    const pt = podTemplate(o);
    if (pt) {
      labelled.push([`${pt.at}.metadata.labels`, (pt.template.metadata as Obj | undefined)?.labels]);
      const containers = (pt.template.spec as { containers?: unknown[] } | undefined)?.containers ?? [];
      containers.forEach((c, i) => unknown(o, `${pt.at}.spec.containers[${i}]`, c, CONTAINER));
    }
    const selector = spec?.selector;
    if (isObj(selector) && (o.kind === 'Deployment' || o.kind === 'PodDisruptionBudget' || o.kind === 'Job')) labelled.push(['spec.selector.matchLabels', selector.matchLabels]);
    if (o.kind === 'Service' && spec) labelled.push(['spec.selector', spec.selector]);
    for (const [at, labels] of labelled) {
      const problem = labelProblems(labels);
      if (problem) refuse(o, at, problem, 'label-syntax');
    }

    if (o.kind === 'Deployment' && spec && pt) {
      const match = (isObj(spec.selector) ? spec.selector.matchLabels : undefined) as Record<string, string> | undefined;
      const podLabels = ((pt.template.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
      if (!match || Object.keys(match).length === 0) refuse(o, 'spec.selector', 'must select the pods by at least one label', 'selector-matches-template');
      for (const [k, v] of Object.entries(match)) {
        if (podLabels[k] !== v) refuse(o, 'spec.selector.matchLabels', `("${k}: ${v}") does not match spec.template.metadata.labels ("${k}: ${podLabels[k] ?? '(absent)'}")`, 'selector-matches-template');
      }
    }

    if (o.kind === 'HorizontalPodAutoscaler' && spec) {
      const min = (spec.minReplicas as number | undefined) ?? 1, max = spec.maxReplicas as number;
      if (min < 1) refuse(o, 'spec.minReplicas', `(${min}) must be at least 1`, 'hpa-min-replicas');
      if (max < min) refuse(o, 'spec.maxReplicas', `(${max}) must be at least spec.minReplicas (${min})`, 'hpa-min-max');
      behaviorRules(o, 'spec.behavior', spec.behavior);
    }

    if (o.kind === 'ScaledObject' && spec) {
      const min = (spec.minReplicaCount as number | undefined) ?? 0, max = (spec.maxReplicaCount as number | undefined) ?? 100;
      if (max < min) refuse(o, 'spec.maxReplicaCount', `(${max}) must be at least spec.minReplicaCount (${min})`, 'keda-min-max');
      const advanced = isObj(spec.advanced) ? spec.advanced : undefined;
      const hpaConfig = advanced && isObj(advanced.horizontalPodAutoscalerConfig) ? advanced.horizontalPodAutoscalerConfig : undefined;
      behaviorRules(o, 'spec.advanced.horizontalPodAutoscalerConfig.behavior', hpaConfig?.behavior);
      const triggers = (spec.triggers as { type: string; metricType?: string }[] | undefined) ?? [];
      if (spec.fallback !== undefined) {
        const modifiers = advanced && isObj(advanced.scalingModifiers) ? advanced.scalingModifiers : undefined;
        const averaged = modifiers
          ? (modifiers.metricType ?? 'AverageValue') === 'AverageValue'
          : triggers.some((t) => t.type !== 'cpu' && t.type !== 'memory' && (t.metricType ?? 'AverageValue') === 'AverageValue');
        if (!averaged) refuse(o, 'spec.fallback', 'needs at least one trigger that is not cpu or memory with metricType AverageValue (KEDA applies a fallback to those only)', 'keda-fallback');
      }
    }

    if (o.kind === 'CronJob' && spec) {
      try { parseSchedule(String(spec.schedule)); } catch (e) {
        if (e instanceof CronSyntaxError) refuse(o, 'spec.schedule', `(${JSON.stringify(spec.schedule)}) ${e.message}`, 'cron-schedule');
        throw e;
      }
      if (spec.timeZone !== undefined) {
        const problem = validateTimeZone(String(spec.timeZone));
        if (problem) refuse(o, 'spec.timeZone', `(${JSON.stringify(spec.timeZone)}) ${problem}`, 'cron-time-zone');
      }
    }
  }
}
