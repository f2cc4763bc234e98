// One builder per unit kind (the upper layer): each turns a unit's plan into its Kubernetes objects.
import type { IDeploymentStrategy } from 'kubernetes-models/apps/v1';
import type { IJobSpec } from 'kubernetes-models/batch/v1';
import { ArchipelagoError } from '../errors.js';
import { horizontalPodAutoscaler, scaledObject } from './autoscaling.js';
import type { SynthContext, UnitPlan } from './normalize.js';
import { metadata, podTemplate } from './pod.js';
import type { IConfigMap, ICronJob, IDeployment, IJob, IPodDisruptionBudget, IService, K8sObject } from './objects.js';

/** Label that marks Jobs run before the Deployments on each deploy. */
export const RUN_ON_LABEL = 'archipelago.dev/run-on';

const CONCURRENCY = { forbid: 'Forbid', allow: 'Allow', replace: 'Replace' } as const;

export function configMap(ctx: SynthContext, plan: UnitPlan): IConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(ctx, plan.configMapName, plan.labels), data: { ...plan.configData } };
}

function deployment(ctx: SynthContext, plan: UnitPlan, strategy: IDeploymentStrategy, replicas: number | undefined): IDeployment {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: {
      // Left out when an autoscaler owns the count, so that re-applying never resets it.
      ...(plan.autoscaled || replicas === undefined ? {} : { replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...plan.selector } },
      strategy,
      template: podTemplate(ctx, plan),
    },
  };
}

const rolling: IDeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } };

function service(ctx: SynthContext, plan: UnitPlan, port: number): IService {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: { type: 'ClusterIP', selector: { ...plan.selector }, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
  };
}

function listening(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  const unit = plan.unit;
  if (unit.kind !== 'api' && unit.kind !== 'realtime') throw new Error('listening unit expected');
  const out: K8sObject[] = [configMap(ctx, plan), deployment(ctx, plan, rolling, unit.replicas.min), service(ctx, plan, unit.port)];
  if (plan.autoscaled) out.push(horizontalPodAutoscaler(ctx, plan));
  return out;
}

export function apiUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  const pdb: IPodDisruptionBudget = {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: metadata(ctx, plan.name, plan.labels),
    // One pod at a time: drains proceed even at one replica, yet never take the API down at once.
    spec: { maxUnavailable: 1, selector: { matchLabels: { ...plan.selector } } },
  };
  return [...listening(ctx, plan), pdb];
}

export function realtimeUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  return listening(ctx, plan);
}

export function workerUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  const unit = plan.unit;
  if (unit.kind !== 'worker') throw new Error('worker unit expected');
  if (ctx.service.broker.kind === 'nats' && unit.scale.ageMs !== undefined && plan.autoscaled) {
    throw new ArchipelagoError('ARCH_E_SYNTH_INVALID',
      `ScaledObject "${plan.name}": unit "${unit.name}" scales on scale.age, which KEDA cannot read from JetStream (its nats-jetstream scaler reports lag only), so the cluster would scale differently; use scale.backlog on the nats broker`);
  }
  if (unit.replicas.min === 0 && !plan.autoscaled) {
    const why = plan.subscriptions.length === 0 ? 'owns no subscription' : 'has no scale.backlog or scale.age target';
    throw new ArchipelagoError('ARCH_E_SYNTH_INVALID',
      `Deployment "${plan.name}": unit "${unit.name}" scales to zero (replicas.min 0) but ${why}, so no trigger could ever wake it`);
  }
  const out: K8sObject[] = [configMap(ctx, plan), deployment(ctx, plan, rolling, unit.replicas.min)];
  if (plan.autoscaled) out.push(scaledObject(ctx, plan));
  return out;
}

export function cdcUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  // One active relay and one standby: the relay's advisory lock picks the active one. Never a surge,
  // so a rollout replaces one pod at a time and the other keeps (or takes) the lock.
  const strategy: IDeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
  return [configMap(ctx, plan), deployment(ctx, plan, strategy, Math.max(2, plan.unit.replicas.max))];
}

function jobSpec(ctx: SynthContext, plan: UnitPlan, backoffLimit: number): IJobSpec {
  const unit = plan.unit;
  const deadlineMs = unit.kind === 'cron' || unit.kind === 'job' ? unit.deadlineMs : undefined;
  return {
    backoffLimit,
    ...(deadlineMs !== undefined ? { activeDeadlineSeconds: Math.max(1, Math.ceil(deadlineMs / 1000)) } : {}),
    template: podTemplate(ctx, plan, { restartPolicy: 'Never' }),
  };
}

export function cronUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  const unit = plan.unit;
  if (unit.kind !== 'cron') throw new Error('cron unit expected');
  const cron: ICronJob = {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: {
      schedule: unit.schedule, timeZone: unit.timezone, concurrencyPolicy: CONCURRENCY[unit.concurrency],
      startingDeadlineSeconds: Math.max(1, Math.ceil(unit.startingDeadlineMs / 1000)), successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: { labels: { ...plan.labels } }, spec: jobSpec(ctx, plan, 0) },
    },
  };
  return [configMap(ctx, plan), cron];
}

export function jobUnit(ctx: SynthContext, plan: UnitPlan): K8sObject[] {
  const unit = plan.unit;
  if (unit.kind !== 'job') throw new Error('job unit expected');
  const labels = { ...plan.labels, [RUN_ON_LABEL]: unit.runOn };
  if (unit.runOn === 'deploy') {
    // A Job's spec is immutable and a finished Job never runs again, so each image gets its own Job.
    const job: IJob = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: metadata(ctx, `${plan.name}-${ctx.imageHash}`, labels),
      spec: jobSpec(ctx, { ...plan, labels }, 2),
    };
    return [configMap(ctx, plan), job];
  }
  // A manual job is a suspended CronJob: applying it runs nothing, and
  // `kubectl create job --from=cronjob/<name> <run>` starts a run whenever someone asks.
  const template: ICronJob = {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: metadata(ctx, plan.name, labels),
    spec: {
      suspend: true, schedule: '0 0 1 1 *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
      jobTemplate: { metadata: { labels }, spec: jobSpec(ctx, { ...plan, labels }, 0) },
    },
  };
  return [configMap(ctx, plan), template];
}

export const BUILDERS = { api: apiUnit, worker: workerUnit, realtime: realtimeUnit, cron: cronUnit, job: jobUnit, cdc: cdcUnit } as const;
