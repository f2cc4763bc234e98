// Pure replica arithmetic shared by the local autoscaler and synth: HPA, KEDA, behavior rules.
export { createAutoscaler, DEFAULT_POLLING_MS, type Autoscaler, type AutoscalerOptions, type Decision, type DecideInput, type Metrics } from './autoscaler.js';
export { DEFAULT_TOLERANCE, replicasForRatio, replicasForAverageValue, replicasForValue, combineRecommendations, type Combined } from './hpa.js';
export { FALLBACK_FAILURE_THRESHOLD, isActive, wakeReplicas, cooledDown, type QueueTargets } from './keda.js';
export {
  DEFAULT_BEHAVIOR, stabilize, scaleUpLimit, scaleDownLimit, limitRate,
  type Behavior, type Rules, type Policy, type Recommendation, type ScaleEvent,
} from './behavior.js';
export { hpaBehavior, kedaScaledObjectFields, kedaTriggerTargets, type HpaBehavior, type HpaScalingRules, type KedaScaledObjectFields, type KedaTriggerTargets } from './emit.js';
export { utilisation, type ReplicaUsage, type Requests } from './utilisation.js';
export { simulate, type SimulatedStep, type TraceSample } from './replay.js';
