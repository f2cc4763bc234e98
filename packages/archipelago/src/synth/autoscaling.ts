// Autoscaler objects: the HPA of api/realtime units and the KEDA ScaledObject of workers, with the
// trigger of each subscription the worker itself owns.
import type { IMetricSpec } from 'kubernetes-models/autoscaling/v2';
import type { IScaleTriggers } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { SubscriptionSpec } from '../messaging/broker.js';
import { durableName } from '../messaging/names.js';
import { hpaBehavior, kedaScaledObjectFields, kedaTriggerTargets } from '../scaling/index.js';
import type { ResolvedBroker } from '../service/types.js';
import { NATS_MONITORING_SECRET, PLATFORM_SECRET, type SynthContext, type UnitPlan } from './normalize.js';
import { metadata } from './pod.js';
import type { IHorizontalPodAutoscaler, IScaledObject, ITriggerAuthentication } from './objects.js';
import { METRICS } from '../contracts.js';

/** Per-pod metric the unit hosts export for open connections (needs a custom-metrics adapter). */
export const CONNECTIONS_METRIC = METRICS.wsConnections;

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
 * The unit's backlog on the postgres broker: the rows of its subscriptions' queues, counted as the
 * broker's own stats count them (messaging/brokers/postgres-sql.ts, STATS) and summed over the
 * subscriptions as the local autoscaler sums them. A row stays in the queue while a replica holds
 * it, so this is outstanding work (waiting + in flight), like KEDA's nats-jetstream lag
 * (num_pending + num_ack_pending). KEDA runs the query as given: it takes no parameters, so names are
 * quoted here.
 */
export function backlogQuery(specs: readonly Pick<SubscriptionSpec, 'name'>[]): string {
  return `SELECT count(*) FROM archipelago.queue WHERE subscription IN (${specs.map((s) => sqlLiteral(s.name)).join(', ')})`;
}

/** Seconds the unit's oldest queued message has waited (0 when none), as STATS' oldest_age_ms ÷ 1000, the highest over its subscriptions. */
export function ageQuery(specs: readonly Pick<SubscriptionSpec, 'name'>[]): string {
  return `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(published_at)), 0)::float8 FROM archipelago.queue WHERE subscription IN (${specs.map((s) => sqlLiteral(s.name)).join(', ')})`;
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

export interface TriggerTargets { backlog?: { value: number; activation: number }; ageSeconds?: number }

/**
 * The triggers of a worker, one per local metric. postgres: one `postgresql` trigger counting the
 * backlog over all the unit's subscriptions (AverageValue) and one on the oldest message's age in
 * seconds (Value, active above the target, as locally). nats: one `nats-jetstream` trigger per
 * durable consumer, summed by a scaling formula (KEDA's scaler reads one consumer); JetStream offers
 * KEDA no age, so an `age` target is refused there rather than scaling differently in the cluster.
 */
export function triggers(broker: ResolvedBroker, subs: readonly SubscriptionSpec[], t: TriggerTargets, auth: string): IScaleTriggers[] {
  const authenticationRef = { name: auth };
  if (broker.kind === 'nats') {
    if (!t.backlog) return [];
    const taken = new Set<string>();
    return subs.map((sub) => ({
      type: 'nats-jetstream', name: triggerName(sub.name, taken), authenticationRef,
      metadata: { account: '$G', stream: broker.stream, consumer: durableName(sub.name), lagThreshold: String(t.backlog!.value), activationLagThreshold: String(t.backlog!.activation) },
    }));
  }
  const out: IScaleTriggers[] = [];
  if (t.backlog) {
    out.push({ type: 'postgresql', name: 'backlog', authenticationRef, metricType: 'AverageValue',
      metadata: { query: backlogQuery(subs), targetQueryValue: String(t.backlog.value), activationTargetQueryValue: String(t.backlog.activation) } });
  }
  if (t.ageSeconds !== undefined) {
    out.push({ type: 'postgresql', name: 'age', authenticationRef, metricType: 'Value',
      metadata: { query: ageQuery(subs), targetQueryValue: String(t.ageSeconds), activationTargetQueryValue: String(t.ageSeconds) } });
  }
  return out;
}

export function scaledObject(ctx: SynthContext, plan: UnitPlan): IScaledObject {
  const { unit } = plan;
  if (unit.kind !== 'worker') throw new Error(`ScaledObject for a ${unit.kind} unit`);
  const t = kedaTriggerTargets(unit);
  const targets: TriggerTargets = {
    ...(t.backlog ? { backlog: { value: t.backlog.value, activation: t.backlog.activationValue } } : {}),
    ...(t.ageSeconds ? { ageSeconds: t.ageSeconds.value } : {}),
  };
  const { advanced, ...fields } = kedaScaledObjectFields(unit);
  const list = triggers(ctx.service.broker, plan.subscriptions, targets, ctx.triggerAuthName);
  return {
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject',
    metadata: metadata(ctx, plan.name, plan.labels),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: plan.name },
      // The same numbers the local autoscaler uses (scaling/emit.ts).
      ...fields,
      advanced: {
        ...advanced,
        // nats: the unit's backlog is the sum over its consumers, as the local autoscaler counts it;
        // without a formula the HPA would take the largest single backlog instead.
        ...(list.length > 1 && ctx.service.broker.kind === 'nats' && targets.backlog ? {
          scalingModifiers: {
            formula: list.map((x) => x.name).join(' + '),
            target: String(targets.backlog.value), activationTarget: String(targets.backlog.activation), metricType: 'AverageValue',
          },
        } : {}),
      },
      triggers: list,
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
