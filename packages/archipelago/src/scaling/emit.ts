// The same scaling parameters in the shapes Kubernetes and KEDA read, for synth.
import type { ResolvedBehavior, ResolvedWorkerUnit } from '../service/types.js';
import type { Rules } from './behavior.js';
import { FALLBACK_FAILURE_THRESHOLD } from './keda.js';

export interface HpaScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
}
/** autoscaling/v2 HorizontalPodAutoscalerBehavior. */
export interface HpaBehavior { scaleUp: HpaScalingRules; scaleDown: HpaScalingRules }

/** Kubernetes counts these in whole seconds; a sub-second duration rounds up so a period is never 0. */
const seconds = (ms: number): number => Math.ceil(ms / 1000);

function rules(r: Rules): HpaScalingRules {
  return {
    stabilizationWindowSeconds: seconds(r.stabilizationMs),
    selectPolicy: r.select === 'max' ? 'Max' : r.select === 'min' ? 'Min' : 'Disabled',
    policies: r.policies.map((p) => ({ type: p.type === 'pods' ? 'Pods' : 'Percent', value: p.value, periodSeconds: Math.max(1, seconds(p.periodMs)) })),
  };
}

/** The HPA `behavior` object for a resolved behavior (always complete, defaults written out). */
export function hpaBehavior(behavior: ResolvedBehavior): HpaBehavior {
  return { scaleUp: rules(behavior.scaleUp), scaleDown: rules(behavior.scaleDown) };
}

export interface KedaScaledObjectFields {
  pollingInterval: number;
  cooldownPeriod: number;
  /** Equal to the cooldown: the local autoscaler also waits one cooldown after it starts before scaling to zero. */
  initialCooldownPeriod: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  fallback?: { failureThreshold: number; replicas: number };
  advanced: { horizontalPodAutoscalerConfig: { behavior: HpaBehavior } };
}

/** The ScaledObject `spec` fields (all but `scaleTargetRef` and `triggers`) for a worker unit. */
export function kedaScaledObjectFields(unit: ResolvedWorkerUnit): KedaScaledObjectFields {
  const s = unit.scale;
  return {
    pollingInterval: Math.max(1, seconds(s.pollingMs)),
    cooldownPeriod: seconds(s.cooldownMs),
    initialCooldownPeriod: seconds(s.cooldownMs),
    minReplicaCount: unit.replicas.min,
    maxReplicaCount: unit.replicas.max,
    // KEDA applies a fallback only to AverageValue triggers, so only with a backlog target.
    ...(s.fallback !== undefined && s.backlog !== undefined ? { fallback: { failureThreshold: FALLBACK_FAILURE_THRESHOLD, replicas: s.fallback } } : {}),
    advanced: { horizontalPodAutoscalerConfig: { behavior: hpaBehavior(s.behavior) } },
  };
}

export interface KedaTriggerTargets {
  /** The backlog trigger: an AverageValue metric, `value` messages per replica, active above `activationValue`. */
  backlog?: { metricType: 'AverageValue'; value: number; activationValue: number };
  /** The oldest-message trigger: a Value metric in seconds, active once above its own target. */
  ageSeconds?: { metricType: 'Value'; value: number; activationValue: number };
}

/** The numbers a worker's triggers carry, whatever the broker's scaler is. */
export function kedaTriggerTargets(unit: ResolvedWorkerUnit): KedaTriggerTargets {
  const s = unit.scale;
  const out: KedaTriggerTargets = {};
  if (s.backlog !== undefined) out.backlog = { metricType: 'AverageValue', value: s.backlog, activationValue: s.activation };
  if (s.ageMs !== undefined) out.ageSeconds = { metricType: 'Value', value: s.ageMs / 1000, activationValue: s.ageMs / 1000 };
  return out;
}
