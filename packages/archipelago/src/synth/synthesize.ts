// The pure entry point: a resolved service (plus image, namespace, environment, subscriptions) to
// every Kubernetes object, grouped per file and in apply order, checked before anyone sees them.
import { ArchipelagoError } from '../errors.js';
import { forEnvironment, LOCAL_ENVIRONMENT } from '../service/environments.js';
import type { ResolvedService } from '../service/types.js';
import { triggerAuthentication } from './autoscaling.js';
import { BUILDERS } from './workloads.js';
import { normalize, PRIORITY_VALUES, priorityClassName, type SynthContext } from './normalize.js';
import { PROVISION_GROUP, provisionObjects } from './provision-job.js';
import { checkRules, validateSchemas } from './schemas.js';
import type { IPriorityClass, IServiceAccount, K8sObject, SynthGroup, SynthOptions, SynthResult } from './objects.js';
import { kindOf } from '../service/kinds.js';

export const SHARED_GROUP = '_shared';
export const PRIORITY_GROUP = '_priorityclasses';

/**
 * Apply order: namespace-level shared objects (service account, KEDA authentication), the cluster's
 * priority classes, the provisioning Job (when any subscription is declared), the `runOn: 'deploy'`
 * jobs, then every other unit in declaration order. Each
 * unit's ConfigMap comes before its workload.
 */
export function synthesize(declared: ResolvedService, opts: SynthOptions): SynthResult {
  if (opts.environment === LOCAL_ENVIRONMENT) {
    throw new ArchipelagoError('ARCH_E_USAGE', `synth: environment "${LOCAL_ENVIRONMENT}" is the one \`archipelago up\` runs; name the cluster's (production, staging, ...)`);
  }
  // Units limited to other environments (localOnly demo data) never reach a manifest or a Pulumi program.
  const { service, omitted } = forEnvironment(declared, opts.environment);
  const ctx = normalize(service, opts);
  const groups: SynthGroup[] = [
    { name: SHARED_GROUP, objects: shared(ctx) },
    { name: PRIORITY_GROUP, objects: priorityClasses(ctx) },
  ];
  const provisioning = provisionObjects(ctx);
  if (provisioning.length) groups.push({ name: PROVISION_GROUP, objects: provisioning });
  const deployJobs = ctx.plans.filter((p) => p.unit.kind === 'job' && p.unit.runOn === 'deploy');
  const rest = ctx.plans.filter((p) => !deployJobs.includes(p));
  for (const plan of [...deployJobs, ...rest]) groups.push({ name: plan.unit.name, objects: BUILDERS[plan.unit.kind](ctx, plan) });
  const objects = groups.flatMap((g) => g.objects);
  checkRules(objects, service, opts.subscriptions);
  validateSchemas(objects);
  return { objects, groups, omitted };
}

function shared(ctx: SynthContext): K8sObject[] {
  const labels = { ...ctx.labels };
  const account: IServiceAccount = {
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: { name: ctx.serviceAccount, namespace: ctx.opts.namespace, labels },
    // Units never talk to the Kubernetes API.
    automountServiceAccountToken: false,
  };
  const out: K8sObject[] = [account];
  if (ctx.plans.some((p) => kindOf(p.unit).autoscaledBy === 'backlog' && p.autoscaled)) out.push(triggerAuthentication(ctx, labels));
  return out;
}

function priorityClasses(ctx: SynthContext): IPriorityClass[] {
  const labels = { ...ctx.labels };
  return (Object.keys(PRIORITY_VALUES) as (keyof typeof PRIORITY_VALUES)[]).map((p) => ({
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass',
    metadata: { name: priorityClassName(ctx.service.name, p), labels },
    value: PRIORITY_VALUES[p], globalDefault: false,
    // Background work waits for room instead of evicting anyone.
    ...(p === 'background' ? { preemptionPolicy: 'Never' } : {}),
    description: `${ctx.service.name}: ${p} units`,
  }));
}
