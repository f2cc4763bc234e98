// The provisioning Job: `archipelago provision` runs before the Deployments on every deploy, so each
// declared subscription (and its dead-letter store) exists before anything publishes, even for a
// worker at zero replicas that no pod would ever register.
import { configMap, RUN_ON_LABEL } from './workloads.js';
import { NATS_SECRET, PLATFORM_SECRET, type SynthContext, type UnitPlan } from './normalize.js';
import { metadata, podTemplate } from './pod.js';
import type { IJob, K8sObject } from './objects.js';
import { ENV } from '../contracts.js';

export const PROVISION_GROUP = 'provision';
/** The service-wide settings of a unit's ConfigMap; the rest (unit name, admin port, env) is the unit's own. */
const SHARED_CONFIG = ['NODE_ENV', ENV.service, ENV.environment, ENV.host];

export function provisionObjects(ctx: SynthContext): K8sObject[] {
  // Any unit's plan carries the service's image and database settings; the Job takes only the platform's secrets.
  const base = ctx.plans.find((p) => p.subscriptions.length > 0);
  if (!base) return [];
  const name = `${ctx.service.name}-provision`;
  const labels = { ...ctx.labels, 'app.kubernetes.io/component': PROVISION_GROUP, [RUN_ON_LABEL]: 'deploy' };
  const plan: UnitPlan = {
    ...base, name, labels, selector: labels, configMapName: name, port: undefined, health: undefined,
    configData: Object.fromEntries(Object.entries(base.configData).filter(([k]) => SHARED_CONFIG.includes(k))),
    secretKeys: base.secretKeys.filter((k) => k === PLATFORM_SECRET || k === NATS_SECRET),
    replicaEnv: {},
  };
  const template = podTemplate(ctx, plan, { restartPolicy: 'Never' });
  const container = template.spec!.containers[0]!;
  container.args = ['provision'];
  container.resources = { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '256Mi' } };
  const job: IJob = {
    apiVersion: 'batch/v1', kind: 'Job',
    // A finished Job never runs again, so each image gets its own.
    metadata: metadata(ctx, `${name}-${ctx.imageHash}`, labels),
    spec: { backoffLimit: 2, template },
  };
  return [configMap(ctx, plan), job];
}
