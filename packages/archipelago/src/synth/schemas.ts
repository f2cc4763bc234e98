// Refuses invalid output: every object against the Kubernetes and KEDA schemas, then the rules that
// span objects. Each refusal is ARCH_E_SYNTH_INVALID naming the object (kind/name) and the field.
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { IPodSpec } from 'kubernetes-models/v1';
import { ArchipelagoError } from '../errors.js';
import type { SubscriptionSpec } from '../messaging/broker.js';
import type { ResolvedService } from '../service/types.js';
import { triggers } from './autoscaling.js';
import { lint } from './lint.js';
import { RUN_ON_LABEL } from './workloads.js';
import { NATS_SECRET, PLATFORM_SECRET } from './normalize.js';
import { PROVISION_GROUP } from './provision-job.js';
import type { IDeployment, K8sObject } from './objects.js';

type Validatable = { validate(): void };
const MODELS: Record<string, new (data: any) => Validatable> = {
  'v1/ConfigMap': ConfigMap, 'v1/Service': Service, 'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment, 'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget, 'scheduling.k8s.io/v1/PriorityClass': PriorityClass,
  'batch/v1/CronJob': CronJob, 'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject, 'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

export const describe = (o: { kind?: string; metadata?: { name?: string } }) => `${o.kind ?? '?'} "${o.metadata?.name ?? '?'}"`;

function refuse(o: K8sObject | { kind?: string; metadata?: { name?: string } }, field: string, problem: string): never {
  throw new ArchipelagoError('ARCH_E_SYNTH_INVALID', `${describe(o)}: ${field} ${problem}`, [`${describe(o)}`, field]);
}

/** `/spec/template/spec/containers/0/name` → `spec.template.spec.containers[0].name`. */
function fieldOf(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (missing) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(object)';
}

/** Validates each object with its kubernetes-models class; throws on the first invalid one. */
export function validateSchemas(objects: readonly unknown[]): void {
  for (const raw of objects) {
    const o = raw as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!Model) refuse(o, 'apiVersion/kind', `(${o.apiVersion}/${o.kind}) is not a kind synth knows how to validate`);
    if (!o.metadata?.name) refuse(o, 'metadata.name', 'is required');
    try {
      new Model(raw).validate();
    } catch (e) {
      const errors = (e as { errors?: { instancePath: string; message?: string; params?: { missingProperty?: string } }[] }).errors;
      const first = errors?.[0];
      if (!first) throw e;
      const missing = first.params?.missingProperty;
      refuse(o, fieldOf(first.instancePath, missing), missing ? 'is required' : (first.message ?? 'is invalid'));
    }
  }
}

export function podSpecOf(o: K8sObject): IPodSpec | undefined {
  if (o.kind === 'Deployment' || o.kind === 'Job') return o.spec?.template.spec;
  if (o.kind === 'CronJob') return o.spec?.jobTemplate.spec?.template.spec;
  return undefined;
}
const podPath = (o: K8sObject) => (o.kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec');
const unitOf = (o: K8sObject) => o.metadata?.labels?.['app.kubernetes.io/component'];

/** The rules no single schema can check. */
export function checkRules(objects: readonly K8sObject[], service: ResolvedService, subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>): void {
  const deployments = objects.filter((o): o is IDeployment => o.kind === 'Deployment');
  const byName = new Map(deployments.map((d) => [d.metadata?.name, d]));

  // An autoscaled workload has no `replicas`: the autoscaler owns it, and a re-apply must not reset it.
  for (const o of objects) {
    if (o.kind !== 'HorizontalPodAutoscaler' && o.kind !== 'ScaledObject') continue;
    const ref = o.spec?.scaleTargetRef;
    const target = byName.get(ref?.name);
    if (!target || (ref?.kind ?? 'Deployment') !== 'Deployment') refuse(o, 'spec.scaleTargetRef', `(${ref?.kind}/${ref?.name}) names no Deployment in the output`);
    if (target.spec?.replicas !== undefined) refuse(target, 'spec.replicas', `must be absent: ${describe(o)} owns the replica count`);
  }

  // Each trigger counts the subscriptions of the unit it scales, never another unit's backlog.
  for (const o of objects) {
    if (o.kind !== 'ScaledObject') continue;
    const unit = unitOf(byName.get(o.spec?.scaleTargetRef.name)!);
    const own = (unit ? subscriptions.get(unit) : undefined) ?? [];
    const declared = service.units.find((u) => u.name === unit);
    const t = declared?.kind === 'worker' ? declared.scale : undefined;
    const expected = new Map(triggers(service.broker, own, { ...(t?.backlog !== undefined ? { backlog: { value: 0, activation: 0 } } : {}), ...(t?.ageMs !== undefined ? { ageSeconds: 0 } : {}) }, '')
      .map((x, i) => [signature(x.metadata), service.broker.kind === 'nats' ? `subscription "${own[i]!.name}"` : `${x.name} of subscriptions ${own.map((s) => `"${s.name}"`).join(', ')}`]));
    const seen = new Set<string>();
    o.spec?.triggers.forEach((tr, i) => {
      const owner = expected.get(signature(tr.metadata));
      if (owner === undefined) refuse(o, `spec.triggers[${i}]`, `does not count a subscription of unit "${unit}" (it owns: ${own.map((s) => s.name).join(', ') || 'none'})`);
      seen.add(owner);
    });
    for (const [, what] of expected) if (!seen.has(what)) refuse(o, 'spec.triggers', `has no trigger for ${what} of unit "${unit}"`);
  }

  // A Service's ports exist on the containers it selects.
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const selector = o.spec?.selector ?? {};
    const pods = deployments.filter((d) => Object.entries(selector).every(([k, v]) => d.spec?.template.metadata?.labels?.[k] === v));
    if (pods.length === 0) refuse(o, 'spec.selector', 'selects no Deployment in the output');
    o.spec?.ports?.forEach((p, i) => {
      const target = p.targetPort ?? p.port;
      const found = pods.every((d) => d.spec?.template.spec?.containers.some((c) => c.ports?.some((cp) => cp.name === target || cp.containerPort === target)));
      if (!found) refuse(o, `spec.ports[${i}].targetPort`, `(${JSON.stringify(target)}) is not a port of the selected containers`);
    });
  }

  // A unit's pods reference only the secrets it declares (plus the platform's), and never inline one.
  const platform = [PLATFORM_SECRET, ...(service.broker.kind === 'nats' ? [NATS_SECRET] : [])];
  for (const o of objects) {
    const pod = podSpecOf(o);
    if (!pod) continue;
    // The provisioning Job is the toolkit's own, not a unit's: it gets the platform's secrets only.
    const own = unitOf(o) === PROVISION_GROUP ? { name: PROVISION_GROUP, secrets: [] as string[] } : undefined;
    const unit = own ?? service.units.find((u) => u.name === unitOf(o));
    if (!unit) refuse(o, 'metadata.labels', 'names no unit of the service (app.kubernetes.io/component)');
    const allowed = new Set([...platform, ...unit.secrets]);
    pod.containers.forEach((c, ci) => {
      const at = `${podPath(o)}.containers[${ci}]`;
      c.envFrom?.forEach((e, i) => { if (e.secretRef) refuse(o, `${at}.envFrom[${i}].secretRef`, 'would expose every key of the Secret; reference declared keys one by one'); });
      c.env?.forEach((e, i) => {
        const key = e.valueFrom?.secretKeyRef?.key;
        if (key !== undefined && !allowed.has(key)) refuse(o, `${at}.env[${i}]`, `references secret "${key}", which unit "${unit.name}" does not declare`);
        if (e.value !== undefined && allowed.has(e.name)) refuse(o, `${at}.env[${i}].value`, `renders secret ${e.name} as a value; it must be a secretKeyRef`);
      });
    });
  }

  // Deploy jobs come before every Deployment, so kubectl creates them first.
  const firstDeployment = objects.findIndex((o) => o.kind === 'Deployment');
  objects.forEach((o, i) => {
    if (o.kind === 'Job' && o.metadata?.labels?.[RUN_ON_LABEL] === 'deploy' && firstDeployment >= 0 && i > firstDeployment) {
      refuse(o, 'order', `must come before ${describe(objects[firstDeployment]!)} (deploy jobs run before the Deployments)`);
    }
  });

  // Names, labels, selectors, unknown fields and the autoscalers' own invariants.
  lint(objects);
}

/** What identifies a trigger's source, whatever its target numbers. */
function signature(m: Record<string, string>): string {
  return JSON.stringify([m.query, m.stream, m.consumer]);
}
