// Autoscaler objects: the HPA of api/realtime units and the KEDA ScaledObject of workers, with the
// trigger of each subscription the worker itself owns.
import type { IMetricSpec } from 'kubernetes-models/autoscaling/v2';
import type { IScaleTriggers } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { SubscriptionSpec } from '../messaging/broker.js';
import { durableName } from '../messaging/brokers/nats.js';
import { hpaBehavior, kedaScaledObjectFields, kedaTriggerTargets } from '../scaling/index.js';
import type { ResolvedBroker } from '../service/types.js';
import { NATS_MONITORING_SECRET, PLATFORM_SECRET, type SynthContext, type UnitPlan } from './normalize.js';
import { metadata } from './pod.js';
import type { IHorizontalPodAutoscaler, IScaledObject, ITriggerAuthentication } from './types.js';

/** Per-pod metric the unit hosts export for open connections (needs a custom-metrics adapter). */
export const CONNECTIONS_METRIC = 'archipelago_connections';

export { hpaBehavior };

export function horizontalPodAutoscaler(ctx: SynthContext, plan: UnitPlan): IHorizontalPodAutoscaler {
  const { unit } = plan;
  if (unit.kind !== 'api' && unit.kind !== 'realtime') throw new Error(`HPA for a ${unit.kind} unit`);
  const metrics: IMetricSpec[] = [];
  const resource = (name: 'cpu' | 'memory', averageUtilization: number): IMetricSpec =>
    ({ type: 'Resource', resource: { name, target: { type: 'Utilization', averageUtilization } } });
  if (unit.scale.cpu !== undefined) metrics.push(resource('cpu', unit.scale.cpu));
  if (unit.scale.memory !== undefined) metrics.push(resource('memory', unit.scale.memory));
  if (unit.scale.connections !== undefined) {
    metrics.push({ type: 'Pods', pods: { metric: { name: CONNECTIONS_METRIC }, target: { type: 'AverageValue', averageValue: String(unit.scale.connections) } } });
  }
  return {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: plan.name },
      minReplicas: unit.replicas.min, maxReplicas: unit.replicas.max,
      metrics, behavior: hpaBehavior(unit.scale.behavior),
    },
  };
}

/**
 * The number of messages waiting for one subscription of the postgres broker, counted as the
 * broker's own stats count it (messaging/brokers/postgres-sql.ts, STATS). KEDA runs it as given:
 * it takes no parameters, so the name is quoted here.
 */
export function backlogQuery(spec: Pick<SubscriptionSpec, 'name'>): string {
  return `SELECT count(*) FROM archipelago.queue WHERE subscription = ${sqlLiteral(spec.name)}`;
}

function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A trigger name usable as a variable in KEDA's scaling formula (no '-' or '.'). */
function triggerName(sub: string, taken: Set<string>): string {
  let n = sub.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(n)) n = `s_${n}`;
  for (let i = 2, base = n; taken.has(n); i++) n = `${base}_${i}`;
  taken.add(n);
  return n;
}

export function trigger(broker: ResolvedBroker, sub: SubscriptionSpec, target: { backlog: number; activation: number }, name: string, auth: string): IScaleTriggers {
  const authenticationRef = { name: auth };
  if (broker.kind === 'nats') {
    return {
      type: 'nats-jetstream', name, authenticationRef,
      metadata: { account: '$G', stream: broker.stream, consumer: durableName(sub.name), lagThreshold: String(target.backlog), activationLagThreshold: String(target.activation) },
    };
  }
  return {
    type: 'postgresql', name, authenticationRef, metricType: 'AverageValue',
    metadata: { query: backlogQuery(sub), targetQueryValue: String(target.backlog), activationTargetQueryValue: String(target.activation) },
  };
}

export function scaledObject(ctx: SynthContext, plan: UnitPlan): IScaledObject {
  const { unit } = plan;
  if (unit.kind !== 'worker') throw new Error(`ScaledObject for a ${unit.kind} unit`);
  const backlog = kedaTriggerTargets(unit).backlog;
  if (!backlog) throw new Error(`ScaledObject for worker "${unit.name}" without a backlog target`);
  const target = { backlog: backlog.value, activation: backlog.activationValue };
  const { advanced, ...fields } = kedaScaledObjectFields(unit);
  const taken = new Set<string>();
  const triggers = plan.subscriptions.map((s) => trigger(ctx.service.broker, s, target, triggerName(s.name, taken), ctx.triggerAuthName));
  return {
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: plan.name },
      // The same numbers the local autoscaler uses (scaling/emit.ts).
      ...fields,
      advanced: {
        ...advanced,
        // The unit's backlog is the sum over its subscriptions, as the local autoscaler counts it;
        // without a formula the HPA would take the largest single backlog instead.
        ...(triggers.length > 1 ? {
          scalingModifiers: {
            formula: triggers.map((t) => t.name).join(' + '),
            target: String(target.backlog), activationTarget: String(target.activation), metricType: 'AverageValue',
          },
        } : {}),
      },
      triggers,
    },
  };
}

/** How KEDA reaches the broker: by reference to the service's Secret, never a value. */
export function triggerAuthentication(ctx: SynthContext, labels: Readonly<Record<string, string>>): ITriggerAuthentication {
  const ref = ctx.service.broker.kind === 'nats'
    ? { parameter: 'natsServerMonitoringEndpoint', name: ctx.secretName, key: NATS_MONITORING_SECRET }
    : { parameter: 'connection', name: ctx.secretName, key: PLATFORM_SECRET };
  return {
    apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication',
    metadata: metadata(ctx, ctx.triggerAuthName, labels),
    spec: { secretTargetRef: [ref] },
  };
}
